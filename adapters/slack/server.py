"""Run the Bolt app: the HTTP Events API route for ragbot's aiohttp server, or Socket Mode."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from adapters.slack.settings import SlackSettings

__all__ = ["http_app", "slack_routes", "run_socket_mode"]

log = logging.getLogger(__name__)


def slack_routes(app: AsyncApp) -> list[web.RouteDef]:
    """POST /slack/events: events, interactivity and commands, signature-checked by Bolt."""

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    return [web.post("/slack/events", events)]


def http_app(app: AsyncApp) -> web.Application:
    """A stand-alone app with the Slack route and GET /healthz (tests and simple embeddings)."""

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    web_app = web.Application()
    web_app.add_routes([*slack_routes(app), web.get("/healthz", healthz)])
    return web_app


async def run_socket_mode(app: AsyncApp, slack: SlackSettings, stop: asyncio.Event) -> None:
    """Hold a Socket Mode connection until ``stop`` is set."""
    handler = AsyncSocketModeHandler(app, slack.app_token, web_client=app.client)
    await handler.connect_async()
    log.info("Slack: connected in Socket Mode")
    try:
        await stop.wait()
    finally:
        await handler.close_async()
