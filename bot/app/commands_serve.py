"""``ragbot serve`` (chat adapters, ops HTTP, schedules) and ``ragbot scheduler`` (schedules only)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from bot.app.common import load

__all__ = ["register", "run_serve", "run_scheduler"]


def register(commands: Any) -> None:
    serve = commands.add_parser(
        "serve", help="answer questions in Slack (SLACK_BOT_TOKEN) and Discord (DISCORD_BOT_TOKEN) until stopped"
    )
    serve.add_argument(
        "--no-scheduler", action="store_true", help="do not run source schedules here (a `ragbot scheduler` does)"
    )
    serve.set_defaults(run=run_serve)

    scheduler = commands.add_parser("scheduler", help="run the sources' index schedules until stopped")
    scheduler.add_argument("--run-now", action="store_true", help="also index every scheduled source at start")
    scheduler.set_defaults(run=run_scheduler)


def run_serve(args: argparse.Namespace) -> int:
    import asyncio

    from bot.app.serve import serve

    settings = load(args)
    asyncio.run(serve(settings, slack=True, discord=True, scheduler=not args.no_scheduler))
    return 0


def run_scheduler(args: argparse.Namespace) -> int:
    import signal
    import threading

    from bot.app.build import build_core
    from bot.app.insights import admin_routes, start_insights_schedule
    from bot.embedder_precision import fit_index
    from bot.errors import StoreUnavailable
    from bot.ops import start_ops_thread
    from indexer.scheduler import IndexScheduler

    settings = load(args)
    logging.getLogger().setLevel(logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # its job chatter; ours says what ran
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with build_core(settings) as app:
        scheduler = IndexScheduler(settings, app.store, app.embedder)
        try:  # a wrong model or collection fails now, not at 3 am ...
            fit_index(app.embedder, app.store, app.embedder.dimension)  # model and precision
        except StoreUnavailable as exc:  # ... an unreachable store is waited out: each run retries it
            logging.getLogger(__name__).warning("%s; the schedules keep running and each run tries again", exc)
        stop_http = start_ops_thread(app.core, settings.http.host, settings.http.port, admin_routes(app))
        scheduler.start(announce=False)  # printed below, once
        if settings.training.schedule:
            from bot.app.training import start_training_schedule

            app.on_close(start_training_schedule(settings, app.core, app.chat_state))
        app.on_close(start_insights_schedule(settings, app))  # prune the question log, post the digest
        for name, when in scheduler.next_runs().items():  # the same time after a --run-now run
            now = ", and one now (--run-now)" if args.run_now else ""
            print(f"scheduled {name}: next run {when:%Y-%m-%d %H:%M:%S %Z}{now}" if when else f"scheduled {name}")
            if args.run_now:
                scheduler.trigger(name)
        sys.stdout.flush()
        while not stop.wait(1.0):  # wake up now and then so signals are handled promptly
            pass
        print("stopping: a run in progress stops after its current document", file=sys.stderr)
        scheduler.shutdown()
        stop_http()
    return 0
