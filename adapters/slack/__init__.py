"""Slack adapter (slack-bolt): mentions and DMs in, threaded answers with citations out."""

from typing import Any

from adapters.slack.settings import SlackSettings

__all__ = ["create_slack_app", "SlackSettings"]


def __getattr__(name: str) -> Any:
    """The app on first use: loading settings (every command) must not import slack-bolt."""
    if name == "create_slack_app":
        from adapters.slack.app import create_slack_app

        return create_slack_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
