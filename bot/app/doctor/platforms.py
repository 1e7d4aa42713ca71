"""Do Slack and Discord accept the tokens? The same requests ``serve`` makes at start
(``auth.test``, ``apps.connections.open``, ``GET /users/@me``), asked once, without retrying."""

from __future__ import annotations

import asyncio

from adapters.discord.settings import DiscordSettings
from adapters.discord.startup import check_token_shape, users_me
from adapters.slack.settings import SlackSettings
from adapters.slack.startup import auth_test, check_token_shapes, open_connection
from adapters.startup import Unreachable
from bot.app.doctor.findings import Finding, fail, ok, skip, warn
from bot.errors import ConfigError

__all__ = ["check_slack", "check_discord"]


def check_slack(slack: SlackSettings | None) -> Finding:
    if slack is None:
        return skip("slack", "SLACK_BOT_TOKEN is not set (Slack off)")
    try:
        slack.check()
        check_token_shapes(slack)
        identity = asyncio.run(auth_test(slack))
        if slack.socket_mode:
            asyncio.run(open_connection(slack))
    except ConfigError as exc:
        detail, _, fix = str(exc).partition(": ")
        return fail("slack", detail, fix or "see the README's Slack set-up")
    except Unreachable as exc:
        reached = f"Slack at {slack.api_url} could not be reached: {exc}"
        return fail("slack", reached, "check the network, or SLACK_API_URL")
    mode = "Socket Mode (app-level token accepted)" if slack.socket_mode else "HTTP mode (signing secret not checkable)"
    detail = f"bot token accepted: {identity.user_id} in {identity.url or identity.team}; {mode}"
    if identity.missing_scopes:
        return warn(
            "slack",
            f"{detail}; missing scopes: {', '.join(identity.missing_scopes)}",
            "add them under OAuth & Permissions (or use deploy/slack-manifest-*.yaml) and reinstall the app",
        )
    return ok("slack", detail)


def check_discord(discord: DiscordSettings | None) -> Finding:
    if discord is None:
        return skip("discord", "DISCORD_BOT_TOKEN is not set (Discord off)")
    try:
        check_token_shape(discord.bot_token)
        identity = asyncio.run(users_me(discord))
    except ConfigError as exc:
        detail, _, fix = str(exc).partition(": ")
        return fail("discord", detail, fix or "see the README's Discord set-up")
    except Unreachable as exc:
        reached = f"Discord at {discord.api_url} could not be reached: {exc}"
        return fail("discord", reached, "check the network, or DISCORD_API_URL")
    return ok("discord", f"token accepted: signed in as {identity.username} ({identity.user_id})")
