"""Discord settings. They come from the environment only (the token never lives in files or the
repo); the composition root's one loader (``bot/app/settings.py``) reads them with everything
else, using :data:`DiscordSettings.ENV`."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ConfigDict, field_validator

from bot.config import Section

__all__ = ["DiscordSettings", "DEFAULT_API_URL", "DEFAULT_GATEWAY_URL"]

DEFAULT_API_URL = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg/"


class DiscordSettings(Section):
    """Discord is configured when DISCORD_BOT_TOKEN is set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Environment variable -> field. DISCORD_BOT_TOKEN unset: no Discord settings at all.
    ENV: ClassVar[dict[str, str]] = {
        "DISCORD_BOT_TOKEN": "bot_token",
        "DISCORD_API_URL": "api_url",
        "DISCORD_GATEWAY_URL": "gateway_url",
        "DISCORD_GUILD_IDS": "guild_ids",
        "DISCORD_ADMIN_ROLE_IDS": "admin_role_ids",
        "DISCORD_MESSAGE_CONTENT": "message_content",
    }

    bot_token: str
    api_url: str = DEFAULT_API_URL
    gateway_url: str = DEFAULT_GATEWAY_URL
    guild_ids: frozenset[int] = frozenset()  # sync commands here (instant); else globally
    admin_role_ids: frozenset[int] = frozenset()
    message_content: bool = False  # privileged intent: follow-ups in threads without a mention

    @field_validator("api_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.strip().rstrip("/") or DEFAULT_API_URL

    @field_validator("gateway_url")
    @classmethod
    def _stripped(cls, value: str) -> str:
        return value.strip() or DEFAULT_GATEWAY_URL

    @field_validator("guild_ids", "admin_role_ids", mode="before")
    @classmethod
    def _numeric_ids(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return frozenset(int(part) for part in value.replace(" ", "").split(",") if part)
        except ValueError:
            raise ValueError("must be a comma-separated list of numeric Discord ids") from None

    @field_validator("message_content", mode="before")
    @classmethod
    def _yes(cls, value: Any) -> Any:
        return value.strip().lower() in ("1", "true", "yes") if isinstance(value, str) else value

    def __repr__(self) -> str:  # never print the token, even in a traceback
        return f"DiscordSettings(api_url={self.api_url!r}, guilds={sorted(self.guild_ids)})"

    __str__ = __repr__
