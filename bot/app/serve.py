"""``ragbot serve`` wired up: the core, the chat adapters, the ops HTTP server and the schedules.

The process starts while the store is down (``/readyz`` says so and a StoreWatch logs when it
comes back); the models load before the first question, not inside it. SIGINT and SIGTERM
stop the adapters, the HTTP server and a run in progress, and close everything that was opened.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from adapters.discord.settings import DiscordSettings
from adapters.discord.startup import check_token_shape
from adapters.slack.settings import SlackSettings
from adapters.slack.startup import check_token_shapes
from bot.app.build import Runtime, build_core
from bot.app.settings import AppSettings
from bot.errors import ConfigError
from bot.ops import StoreWatch

__all__ = ["serve"]

log = logging.getLogger(__name__)


async def serve(settings: AppSettings, *, slack: bool = True, discord: bool = True, scheduler: bool = True) -> None:
    """Answer in Slack and/or Discord (each when enabled here and configured) until a signal.

    ``scheduler`` runs the sources' schedules in this process too (``[scheduler] enabled`` and
    at least one scheduled source are needed as well). ConfigError when no platform is set up."""
    slack_settings = settings.slack if slack else None
    discord_settings = settings.discord if discord else None
    if slack_settings is None and discord_settings is None:
        raise ConfigError(
            "no chat platform configured: set SLACK_BOT_TOKEN and/or DISCORD_BOT_TOKEN (see the README's set-up)"
        )
    if slack_settings is not None:
        slack_settings.check()
        check_token_shapes(slack_settings)  # a token of the wrong kind fails now, not after the models load
    if discord_settings is not None:
        check_token_shape(discord_settings.bot_token)
    with build_core(settings) as app:
        # Models load now, not on the first question. An embedded store is opened first to read the
        # index's precision (bot/embedder_precision.py); a down or busy store never stops the load.
        log.info("encoder ready (%d-d)", app.core.load_models())
        app.core.anchors.background = True  # a reindex elsewhere (a `ragbot scheduler`) is measured here
        logging.getLogger().setLevel(logging.INFO)  # from here on, serving logs what it does
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # its job chatter; ours says what ran
        watch = StoreWatch(app.core).start()
        app.on_close(watch.stop)
        if scheduler and settings.scheduler.enabled and any(s.schedule for s in settings.sources):
            from indexer.scheduler import IndexScheduler

            index_scheduler = IndexScheduler(settings, app.store, app.embedder)
            index_scheduler.start()
            app.on_close(index_scheduler.shutdown)
        if scheduler and settings.scheduler.enabled and settings.training.schedule:
            from bot.app.training import start_training_schedule

            app.on_close(start_training_schedule(settings, app.core, app.chat_state))
        if scheduler and settings.scheduler.enabled:  # the question log's pruning and weekly digest
            from bot.app.insights import start_insights_schedule

            app.on_close(start_insights_schedule(settings, app))
        await _run_until_stopped(app, watch, slack_settings, discord_settings)


async def _run_until_stopped(
    app: Runtime, watch: StoreWatch, slack: SlackSettings | None, discord: DiscordSettings | None
) -> None:
    from aiohttp import web

    from bot.app.insights import admin_routes
    from bot.ops import ops_routes, serve_http

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    service = app.chat_service()
    http = web.Application()
    http.add_routes(ops_routes(app.core, watch))
    http.add_routes(admin_routes(app))  # /admin (off unless RAGBOT_ADMIN_TOKEN is set)
    tasks = []
    if slack is not None:
        from adapters.slack import create_slack_app
        from adapters.slack.server import run_slack, slack_routes

        slack_app = create_slack_app(service, slack)
        if not slack.socket_mode:
            http.add_routes(slack_routes(slack_app))
        tasks.append(run_slack(slack_app, slack, stop))  # checks the tokens; Socket Mode: holds the connection
    if discord is not None:
        from adapters.discord.runner import run_discord

        tasks.append(run_discord(service, discord, stop))
    tasks.append(serve_http(http, app.settings.http.host, app.settings.http.port, stop))
    try:
        await asyncio.gather(*tasks)
    finally:
        stop.set()
