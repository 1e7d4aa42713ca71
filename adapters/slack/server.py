"""Run the Bolt app: the HTTP Events API route for ragbot's aiohttp server, or Socket Mode.

:func:`run_slack` is what ``serve`` awaits in both modes: it checks the tokens first
(:mod:`adapters.slack.startup`), so a wrong one ends ``serve`` with one line, and in Socket Mode
it then holds the connection. Every wait in here ends when ``stop`` is set (SIGTERM, SIGINT).
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from adapters.slack.settings import SlackSettings
from adapters.slack.startup import SIGNING_SECRET_HELP, check_slack
from adapters.startup import Stopped, until_stopped

__all__ = ["http_app", "slack_routes", "run_slack", "run_socket_mode"]

log = logging.getLogger(__name__)

BAD_SIGNATURE_LOG_EVERY_S = 60.0


def slack_routes(app: AsyncApp) -> list[web.RouteDef]:
    """POST /slack/events: events, interactivity and commands, signature-checked by Bolt.

    Refused requests are logged (at most once a minute): when every request is refused, the
    signing secret is wrong, and nothing else would say so."""
    last_logged = -BAD_SIGNATURE_LOG_EVERY_S

    async def events(request: web.Request) -> web.Response:
        nonlocal last_logged
        response = await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))
        if response.status == 401 and time.monotonic() - last_logged >= BAD_SIGNATURE_LOG_EVERY_S:
            last_logged = time.monotonic()
            log.warning(
                "Slack: refused a request with a bad signature or an old timestamp; if Slack's requests "
                "are all refused, SLACK_SIGNING_SECRET is wrong: %s",
                SIGNING_SECRET_HELP,
            )
        return response

    return [web.post("/slack/events", events)]


def http_app(app: AsyncApp) -> web.Application:
    """A stand-alone app with the Slack route and GET /healthz (tests and simple embeddings)."""

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    web_app = web.Application()
    web_app.add_routes([*slack_routes(app), web.get("/healthz", healthz)])
    return web_app


async def run_slack(app: AsyncApp, slack: SlackSettings, stop: asyncio.Event) -> None:
    """Check the tokens (ConfigError naming a bad one), then, in Socket Mode, hold the connection
    until ``stop``. In HTTP mode the route does the serving and this returns after the check."""
    if await check_slack(slack, stop) is None:
        return  # stopped while Slack was unreachable
    if slack.socket_mode:
        await _hold_socket(app, slack, stop)


async def run_socket_mode(app: AsyncApp, slack: SlackSettings, stop: asyncio.Event) -> None:
    """Socket Mode only: the same as :func:`run_slack` (kept for callers of the old name)."""
    await run_slack(app, slack, stop)


async def _hold_socket(app: AsyncApp, slack: SlackSettings, stop: asyncio.Event) -> None:
    handler = AsyncSocketModeHandler(app, slack.app_token, logger=_socket_logger(), web_client=app.client)
    try:
        await until_stopped(handler.connect_async(), stop)
        log.info("Slack: connected in Socket Mode")
        await stop.wait()
    except Stopped:
        pass
    finally:
        await handler.close_async()


class _OneLine(logging.Filter):
    """The Socket Mode client logs a full traceback each time it fails to (re)connect, every
    10 s while Slack is away: keep the line, drop the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            record.exc_info = None
            record.exc_text = None
            record.msg = record.getMessage().splitlines()[0]
            record.args = None
        return True


def _socket_logger() -> logging.Logger:
    logger = logging.getLogger("adapters.slack.socket_mode")
    if not any(isinstance(f, _OneLine) for f in logger.filters):
        logger.addFilter(_OneLine())
    return logger
