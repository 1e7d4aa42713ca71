"""Platform adapters (Slack, Discord): translate chat events into calls on bot.core.RagCore."""
