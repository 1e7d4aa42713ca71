"""Run the Bolt app: HTTP Events API on aiohttp (with /healthz), or Socket Mode."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from adapters.slack.settings import SlackSettings

__all__ = ["http_app", "run_slack"]

log = logging.getLogger(__name__)


def http_app(app: AsyncApp) -> web.Application:
    """POST /slack/events (events, interactivity, commands; signature-checked by Bolt), GET /healthz."""

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    web_app = web.Application()
    web_app.add_routes([web.post("/slack/events", events), web.get("/healthz", healthz)])
    return web_app


async def run_slack(app: AsyncApp, slack: SlackSettings, stop: asyncio.Event) -> None:
    """Serve until ``stop`` is set."""
    if slack.socket_mode:
        handler = AsyncSocketModeHandler(app, slack.app_token, web_client=app.client)
        await handler.connect_async()
        log.info("Slack: connected in Socket Mode")
        try:
            await stop.wait()
        finally:
            await handler.close_async()
        return
    runner = web.AppRunner(http_app(app))
    await runner.setup()
    site = web.TCPSite(runner, slack.http_host, slack.http_port)
    await site.start()
    log.info("Slack: Events API on http://%s:%s/slack/events", slack.http_host, slack.http_port)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
