"""Discord adapter (discord.py): /ask and mentions in, answers with citations out."""

from typing import Any

from adapters.discord.settings import DiscordSettings

__all__ = ["RagbotDiscord", "DiscordSettings", "use_endpoints"]


def __getattr__(name: str) -> Any:
    """The bot on first use: loading settings (every command) must not import discord.py and aiohttp."""
    if name in ("RagbotDiscord", "use_endpoints"):
        from adapters.discord import bot

        return getattr(bot, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
