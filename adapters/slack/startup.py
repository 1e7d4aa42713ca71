"""Check the Slack tokens before serving: a wrong token ends ``serve`` with one line saying which
token and where to get the right one, instead of a bot that looks ready and drops every event.

* Shape first, without a request: the bot token must be a bot token (``xoxb-``), the app-level
  token an app-level token (``xapp-``); the two swapped is the commonest mistake.
* Then ``auth.test`` with the bot token and, in Socket Mode, ``apps.connections.open`` with the
  app-level token. Slack's refusal (``invalid_auth``, ``not_authed``, ``token_revoked``...) is a
  :class:`~bot.errors.ConfigError`; Slack unreachable, 5xx or rate limited is waited out
  (:func:`adapters.startup.retry_until_answered`).
* Scopes the bot token lacks (``X-OAuth-Scopes`` against :data:`REQUIRED_SCOPES`) are one
  warning: the bot still answers where it can.

``ragbot doctor`` asks the same questions once each (:func:`auth_test`, :func:`open_connection`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.permissions import missing_scopes
from adapters.slack.settings import SlackSettings
from adapters.startup import Unreachable, retry_until_answered
from bot.errors import ConfigError

__all__ = [
    "APP_TOKEN_HELP",
    "BOT_TOKEN_HELP",
    "SIGNING_SECRET_HELP",
    "SlackIdentity",
    "auth_test",
    "check_slack",
    "check_token_shapes",
    "open_connection",
]

log = logging.getLogger(__name__)

APPS_PAGE = "https://api.slack.com/apps"
BOT_TOKEN_HELP = (
    f"copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions of your app at {APPS_PAGE} "
    "(install the app to the workspace first)"
)
APP_TOKEN_HELP = (
    f"generate an app-level token with the connections:write scope under Basic Information → "
    f"App-Level Tokens of your app at {APPS_PAGE}"
)
SIGNING_SECRET_HELP = f"copy the Signing Secret from Basic Information → App Credentials of your app at {APPS_PAGE}"

CHECK_TIMEOUT_S = 10  # per request; a black-holed network is retried, not waited on for 30 s
# Slack's answers that mean "not now" rather than "never": anything else refuses the token.
_TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


@dataclass(frozen=True)
class SlackIdentity:
    """Who the bot token signs in as (``auth.test``)."""

    team: str
    user_id: str
    url: str
    missing_scopes: tuple[str, ...] = ()


def check_token_shapes(slack: SlackSettings) -> None:
    """ConfigError when a token cannot be the right kind, judged by its prefix alone (no request)."""
    bot = slack.bot_token
    if not bot.startswith("xoxb-"):
        if bot.startswith("xapp-"):
            problem = "holds an app-level token (xapp-…), which belongs in SLACK_APP_TOKEN"
        elif bot.startswith("xoxp-"):
            problem = "holds a user token (xoxp-…), but ragbot signs in as the bot"
        else:
            problem = "is not a bot token (those start with xoxb-)"
        raise ConfigError(f"SLACK_BOT_TOKEN {problem}: {BOT_TOKEN_HELP}")
    app = slack.app_token
    if app is not None and not app.startswith("xapp-"):
        if app.startswith("xoxb-"):
            problem = "holds a bot token (xoxb-…), which belongs in SLACK_BOT_TOKEN"
        else:
            problem = "is not an app-level token (those start with xapp-)"
        raise ConfigError(f"SLACK_APP_TOKEN {problem}: {APP_TOKEN_HELP}")


def _client(slack: SlackSettings, token: str) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=slack.api_url, timeout=CHECK_TIMEOUT_S)


def _judge(exc: Exception, slack: SlackSettings, variable: str, help_text: str) -> Exception:
    """The exception to raise for a failed call: Unreachable (try again) or ConfigError (never)."""
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        error = str(exc.response.get("error", "")) if isinstance(exc.response.data, dict) else ""
        if status >= 500 or status == 429 or error in _TRANSIENT_ERRORS:
            return Unreachable(f"Slack answered HTTP {status} ({error or 'no error code'})")
        if not error:  # not Slack's Web API at all: a proxy, or a wrong base URL
            return ConfigError(f"{slack.api_url} answered HTTP {status}, not as Slack's Web API: check SLACK_API_URL")
        return ConfigError(f"Slack rejected {variable} ({error}): {help_text}")
    # Connection refused, DNS, TLS, timeouts: the SDK raises aiohttp's and asyncio's own errors.
    reason = str(exc).splitlines()[0] if str(exc) else ""
    return Unreachable(f"{type(exc).__name__}{': ' + reason if reason else ''}")


async def auth_test(slack: SlackSettings) -> SlackIdentity:
    """One ``auth.test`` with the bot token; ConfigError when Slack refuses it, Unreachable when
    Slack could not say."""
    try:
        response = await _client(slack, slack.bot_token).auth_test()
    except Exception as exc:
        raise _judge(exc, slack, "SLACK_BOT_TOKEN", BOT_TOKEN_HELP) from None
    headers = {key.lower(): value for key, value in (response.headers or {}).items()}
    return SlackIdentity(
        team=str(response.get("team") or response.get("team_id") or "?"),
        user_id=str(response.get("user_id") or "?"),
        url=str(response.get("url") or ""),
        missing_scopes=tuple(missing_scopes(headers.get("x-oauth-scopes"))),
    )


async def open_connection(slack: SlackSettings) -> str:
    """One ``apps.connections.open`` with the app-level token (Socket Mode): the websocket URL."""
    try:
        response = await _client(slack, slack.app_token or "").apps_connections_open(app_token=slack.app_token or "")
    except Exception as exc:
        raise _judge(exc, slack, "SLACK_APP_TOKEN", APP_TOKEN_HELP) from None
    return str(response.get("url") or "")


async def check_slack(slack: SlackSettings, stop: asyncio.Event) -> SlackIdentity | None:
    """Every token checked, or ConfigError naming the bad one; None when stopped while waiting
    for Slack to answer."""
    check_token_shapes(slack)
    identity = await retry_until_answered(lambda: auth_test(slack), f"Slack at {slack.api_url}", stop)
    if identity is None:
        return None
    if (
        slack.socket_mode
        and await retry_until_answered(lambda: open_connection(slack), f"Slack Socket Mode at {slack.api_url}", stop)
        is None
    ):
        return None
    log.info("Slack: signed in as %s in %s", identity.user_id, identity.url or identity.team)
    if identity.missing_scopes:
        log.warning(
            "Slack: the bot token lacks the scopes %s, so some features will fail: add them under OAuth & "
            "Permissions (or create the app from deploy/slack-manifest-%s.yaml) and reinstall the app",
            ", ".join(identity.missing_scopes),
            "socket" if slack.socket_mode else "http",
        )
    return identity
