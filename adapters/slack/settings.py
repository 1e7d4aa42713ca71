"""Slack settings. They come from the environment only (tokens never live in files or the repo);
the composition root's one loader (``bot/app/settings.py``) reads them with everything else,
using :data:`SlackSettings.ENV`."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ConfigDict, field_validator

from bot.config import Section
from bot.errors import ConfigError

__all__ = ["SlackSettings", "DEFAULT_API_URL"]

DEFAULT_API_URL = "https://slack.com/api/"


class SlackSettings(Section):
    """Slack is configured when SLACK_BOT_TOKEN is set; :meth:`check` says whether it can run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Environment variable -> field. SLACK_BOT_TOKEN unset: no [slack] settings at all.
    ENV: ClassVar[dict[str, str]] = {
        "SLACK_BOT_TOKEN": "bot_token",
        "SLACK_APP_TOKEN": "app_token",
        "SLACK_SIGNING_SECRET": "signing_secret",
        "SLACK_API_URL": "api_url",
        "SLACK_ADMIN_USER_IDS": "admin_user_ids",
    }

    bot_token: str
    app_token: str | None = None  # set: Socket Mode; unset: HTTP Events API
    signing_secret: str | None = None
    api_url: str = DEFAULT_API_URL
    admin_user_ids: frozenset[str] = frozenset()

    @field_validator("app_token", "signing_secret", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return (value.strip() or None) if isinstance(value, str) else value

    @field_validator("api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        value = value.strip() or DEFAULT_API_URL
        return value if value.endswith("/") else value + "/"

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return frozenset(a.strip() for a in value.split(",") if a.strip())
        return value

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token)

    def check(self) -> None:
        """ConfigError unless one way of receiving events is set up (checked when serving starts)."""
        if not self.app_token and not self.signing_secret:
            raise ConfigError(
                "Slack: set SLACK_APP_TOKEN for Socket Mode, or SLACK_SIGNING_SECRET for the HTTP Events API"
            )

    def __repr__(self) -> str:  # never print tokens, even in a traceback
        return f"SlackSettings(socket_mode={self.socket_mode}, api_url={self.api_url!r})"

    __str__ = __repr__
