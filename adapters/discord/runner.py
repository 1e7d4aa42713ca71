"""Run the Discord client until asked to stop, turning login problems into clear errors."""

from __future__ import annotations

import asyncio

import discord

from adapters.discord.bot import RagbotDiscord, use_endpoints
from adapters.discord.settings import DiscordSettings
from adapters.discord.startup import check_discord
from bot.chat import ChatService
from bot.errors import ConfigError

__all__ = ["run_discord"]


async def run_discord(service: ChatService, settings: DiscordSettings, stop: asyncio.Event) -> None:
    """Check the token (ConfigError when Discord refuses it), then run the client until ``stop``."""
    if await check_discord(settings, stop) is None:
        return  # stopped while Discord was unreachable
    use_endpoints(settings)
    client = RagbotDiscord(service, settings)
    running = asyncio.create_task(client.start(settings.bot_token))
    stopping = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    await client.close()
    stopping.cancel()
    if running in done:
        try:
            running.result()
        except discord.LoginFailure:
            raise ConfigError(
                "Discord rejected DISCORD_BOT_TOKEN; copy the bot token again from the developer portal"
            ) from None
        except discord.PrivilegedIntentsRequired:
            raise ConfigError(
                "Discord refused the Message Content intent: enable it for the bot in the developer portal, "
                "or unset DISCORD_MESSAGE_CONTENT"
            ) from None
