"""Check the Discord token before connecting: ``GET /users/@me`` with it.

A token Discord refuses (401) ends ``serve`` with one line saying where to get the right one;
Discord unreachable, 5xx or rate limited is waited out with backoff
(:func:`adapters.startup.retry_until_answered`). ``ragbot doctor`` asks the same question once.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass

import aiohttp

from adapters.discord.settings import DiscordSettings
from adapters.startup import Unreachable, retry_until_answered
from bot.errors import ConfigError

__all__ = ["TOKEN_HELP", "DiscordIdentity", "check_discord", "check_token_shape", "users_me"]

log = logging.getLogger(__name__)

TOKEN_HELP = (
    "copy the bot's token from the Bot page of your application at https://discord.com/developers/applications "
    "(Reset Token shows a new one)"
)
CHECK_TIMEOUT_S = 10


@dataclass(frozen=True)
class DiscordIdentity:
    """Who the token signs in as."""

    user_id: str
    username: str


def check_token_shape(token: str) -> None:
    """ConfigError for the values people paste instead of the bot token (no request needed)."""
    if token.lower().startswith("bot "):
        raise ConfigError("DISCORD_BOT_TOKEN starts with 'Bot ': set the token alone, without the prefix")
    if token.isdigit():
        raise ConfigError(f"DISCORD_BOT_TOKEN looks like the Application ID, not the bot's token: {TOKEN_HELP}")
    if re.fullmatch(r"[0-9a-f]{64}", token):
        raise ConfigError(
            f"DISCORD_BOT_TOKEN looks like the application's Public Key, not the bot's token: {TOKEN_HELP}"
        )


async def users_me(settings: DiscordSettings) -> DiscordIdentity:
    """One ``GET /users/@me``; ConfigError when Discord refuses the token, Unreachable when it
    could not say."""
    headers = {"Authorization": f"Bot {settings.bot_token}", "User-Agent": "DiscordBot (ragbot, 1.0)"}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CHECK_TIMEOUT_S)) as session:
            async with session.get(f"{settings.api_url}/users/@me", headers=headers) as response:
                status = response.status
                payload = await response.json(content_type=None) if status == 200 else None
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else ""
        raise Unreachable(f"{type(exc).__name__}{': ' + reason if reason else ''}") from None
    if status == 401:
        raise ConfigError(f"Discord rejected DISCORD_BOT_TOKEN (401 Unauthorized): {TOKEN_HELP}")
    if status >= 500 or status == 429:
        raise Unreachable(f"Discord answered HTTP {status}")
    if status != 200 or not isinstance(payload, dict):
        raise ConfigError(f"{settings.api_url} answered HTTP {status}, not as Discord's API: check DISCORD_API_URL")
    return DiscordIdentity(user_id=str(payload.get("id", "?")), username=str(payload.get("username", "?")))


async def check_discord(settings: DiscordSettings, stop: asyncio.Event) -> DiscordIdentity | None:
    """The bot's identity, ConfigError for a refused token, or None when stopped while waiting."""
    check_token_shape(settings.bot_token)
    identity = await retry_until_answered(lambda: users_me(settings), f"Discord at {settings.api_url}", stop)
    if identity is not None:
        log.info("Discord: signed in as %s (%s)", identity.username, identity.user_id)
    return identity
