"""Slack settings come from the environment only: tokens never live in files or the repo."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from bot.errors import ConfigError

__all__ = ["SlackSettings"]

DEFAULT_API_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str
    app_token: str | None = None  # set: Socket Mode; unset: HTTP Events API
    signing_secret: str | None = None
    api_url: str = DEFAULT_API_URL
    admin_user_ids: frozenset[str] = field(default_factory=frozenset)

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token)

    @classmethod
    def from_env(cls) -> SlackSettings | None:
        """None when SLACK_BOT_TOKEN is unset (Slack is not configured)."""
        bot_token = os.environ.get("SLACK_BOT_TOKEN", "").strip()
        if not bot_token:
            return None
        app_token = os.environ.get("SLACK_APP_TOKEN", "").strip() or None
        signing_secret = os.environ.get("SLACK_SIGNING_SECRET", "").strip() or None
        if not app_token and not signing_secret:
            raise ConfigError(
                "Slack: set SLACK_APP_TOKEN for Socket Mode, or SLACK_SIGNING_SECRET for the HTTP Events API"
            )
        api_url = os.environ.get("SLACK_API_URL", "").strip() or DEFAULT_API_URL
        admins = os.environ.get("SLACK_ADMIN_USER_IDS", "")
        return cls(
            bot_token=bot_token,
            app_token=app_token,
            signing_secret=signing_secret,
            api_url=api_url if api_url.endswith("/") else api_url + "/",
            admin_user_ids=frozenset(a.strip() for a in admins.split(",") if a.strip()),
        )

    def __repr__(self) -> str:  # never print tokens, even in a traceback
        return f"SlackSettings(socket_mode={self.socket_mode}, api_url={self.api_url!r})"
