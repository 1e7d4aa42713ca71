"""Discord settings come from the environment only: the token never lives in files or the repo."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from bot.errors import ConfigError

__all__ = ["DiscordSettings"]

DEFAULT_API_URL = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg/"


def _ids(var: str) -> frozenset[int]:
    raw = os.environ.get(var, "")
    try:
        return frozenset(int(part) for part in raw.replace(" ", "").split(",") if part)
    except ValueError:
        raise ConfigError(f"{var} must be a comma-separated list of numeric Discord ids") from None


@dataclass(frozen=True)
class DiscordSettings:
    bot_token: str
    api_url: str = DEFAULT_API_URL
    gateway_url: str = DEFAULT_GATEWAY_URL
    guild_ids: frozenset[int] = field(default_factory=frozenset)  # sync commands here (instant); else globally
    admin_role_ids: frozenset[int] = field(default_factory=frozenset)
    message_content: bool = False  # privileged intent: follow-ups in threads without a mention

    @classmethod
    def from_env(cls) -> DiscordSettings | None:
        token = os.environ.get("DISCORD_BOT_TOKEN", "").strip()
        if not token:
            return None
        return cls(
            bot_token=token,
            api_url=os.environ.get("DISCORD_API_URL", "").strip().rstrip("/") or DEFAULT_API_URL,
            gateway_url=os.environ.get("DISCORD_GATEWAY_URL", "").strip() or DEFAULT_GATEWAY_URL,
            guild_ids=_ids("DISCORD_GUILD_IDS"),
            admin_role_ids=_ids("DISCORD_ADMIN_ROLE_IDS"),
            message_content=os.environ.get("DISCORD_MESSAGE_CONTENT", "").lower() in ("1", "true", "yes"),
        )

    def __repr__(self) -> str:  # never print the token, even in a traceback
        return f"DiscordSettings(api_url={self.api_url!r}, guilds={sorted(self.guild_ids)})"
