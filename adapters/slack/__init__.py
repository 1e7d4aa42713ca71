"""Slack adapter (slack-bolt): mentions and DMs in, threaded answers with citations out."""

from adapters.slack.app import create_slack_app
from adapters.slack.settings import SlackSettings

__all__ = ["create_slack_app", "SlackSettings"]
