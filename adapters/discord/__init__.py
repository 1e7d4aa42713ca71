"""Discord adapter (discord.py): /ask and mentions in, answers with citations out."""

from adapters.discord.bot import RagbotDiscord, use_endpoints
from adapters.discord.settings import DiscordSettings

__all__ = ["RagbotDiscord", "DiscordSettings", "use_endpoints"]
