"""Platform adapters (Slack, Discord): translate chat events into calls on bot.chat.ChatService."""
