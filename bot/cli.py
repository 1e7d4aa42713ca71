"""The ``ragbot`` command: index, ask, status."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from bot.errors import RagbotError

__all__ = ["main"]


def _quiet_libraries() -> None:
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ragbot", description="Ask your team's docs, with citations.")
    parser.add_argument("--config", help="TOML config file (default: $RAGBOT_CONFIG, then ./ragbot.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    parser.add_argument(
        "--log-format",
        choices=["text", "json"],
        default=os.environ.get("RAGBOT_LOG_FORMAT", "text").strip().lower(),
        help="log lines as text or JSON (default: $RAGBOT_LOG_FORMAT or text)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    index = commands.add_parser("index", help="index the configured sources once")
    index.add_argument("--source", action="append", metavar="NAME", help="only this source (repeatable)")
    index.add_argument("--full", action="store_true", help="re-embed every document, changed or not")
    index.add_argument("--json", action="store_true", help="print one JSON object with the counts")

    ask = commands.add_parser("ask", help="answer a question from the indexed docs")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--k", type=int, help="how many source documents to retrieve")
    ask.add_argument("--source", metavar="NAME", help="search only this source")
    ask.add_argument("--set", action="append", dest="sets", metavar="SET", help="search only these document sets")

    evaluate = commands.add_parser("eval", help="score retrieval and answers on a JSONL file of questions")
    evaluate.add_argument("file", help='JSONL: {"question", "expected_urls", "answer_contains"?, "answerable"?}')
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--k", type=int, help="source documents per answer")
    evaluate.add_argument(
        "--explain", action="store_true", help="list the misses with the answer-or-refuse decision's inputs"
    )

    sets = commands.add_parser("sets", help="show which document sets a chat conversation may search")
    where = sets.add_mutually_exclusive_group(required=True)
    where.add_argument("--slack-channel", metavar="ID")
    where.add_argument("--discord-channel", metavar="ID", help="with --discord-guild")
    where.add_argument("--dm", action="store_true", help="direct messages")
    sets.add_argument("--discord-guild", metavar="ID")
    sets.add_argument("--private", action="store_true", help="the channel is private")

    status = commands.add_parser("status", help="show what is indexed")
    status.add_argument("--json", action="store_true", help="print one JSON object")

    serve = commands.add_parser(
        "serve", help="answer questions in Slack (SLACK_BOT_TOKEN) and Discord (DISCORD_BOT_TOKEN) until stopped"
    )
    serve.add_argument(
        "--no-scheduler", action="store_true", help="do not run source schedules here (a `ragbot scheduler` does)"
    )

    scheduler = commands.add_parser("scheduler", help="run the sources' index schedules until stopped")
    scheduler.add_argument("--run-now", action="store_true", help="also index every scheduled source at start")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _quiet_libraries()
    args = build_parser().parse_args(argv)
    from bot.logs import configure_logging

    configure_logging(logging.INFO if args.verbose else logging.WARNING, json_format=args.log_format == "json")
    handler = {
        "index": cmd_index,
        "ask": cmd_ask,
        "status": cmd_status,
        "serve": cmd_serve,
        "sets": cmd_sets,
        "eval": cmd_eval,
        "scheduler": cmd_scheduler,
    }[args.command]
    from bot.logs import redact

    try:
        return handler(args)
    except RagbotError as exc:  # every error line is redacted: messages can quote servers' replies
        print(redact(f"error: {exc}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the index keeps every document in its old or new version", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug or an unexpected library failure: still one clear line
        if args.verbose:
            logging.exception("unexpected failure")
        print(
            redact(f"error: unexpected failure ({type(exc).__name__}: {exc}); rerun with -v for details"),
            file=sys.stderr,
        )
        return 1


def _settings(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """Load the configuration, and teach the redactor its secrets before anything can print them."""
    from bot.config import load_settings
    from bot.logs import register_settings_secrets

    settings = load_settings(args.config)
    register_settings_secrets(settings)
    return settings


def _print_json(payload: dict[str, Any]) -> None:
    """One JSON object on stdout, redacted like every other line the CLI prints: source errors
    quote servers' replies, which can echo credentials."""
    from bot.logs import redact

    print(redact(json.dumps(payload, ensure_ascii=False)))


# -- index -----------------------------------------------------------------------------
def cmd_index(args: argparse.Namespace) -> int:
    """Index once. With --json one object is printed whatever happens, and a run that could not
    start (model or store failure) is still recorded in the run history, so `status` shows it."""
    started = time.perf_counter()
    names: list[str] = list(args.source or [])
    try:
        settings = _settings(args)
        names = names or [s.name for s in settings.sources]
        from bot.core import RagCore
        from indexer.runner import AlreadyRunning, run_index

        for name in names:
            settings.source(name)
        core = None
        try:
            core = RagCore(settings)
            with _Progress(enabled=not args.json and sys.stderr.isatty()) as progress:
                reports = run_index(
                    settings, core.store, core.embedder, args.source, full=args.full, progress=progress.update
                )
        except Exception as exc:
            if not isinstance(exc, AlreadyRunning):  # that one is not a run: the running one records itself
                _record_failed(settings, names, exc)
            raise
        finally:
            if core is not None:
                core.close()
    except Exception as exc:
        if args.json:
            _print_json(
                {
                    "sources": [_failed_source(name, _one_line(exc)) for name in names],
                    "error": _one_line(exc),
                    "seconds": round(time.perf_counter() - started, 3),
                }
            )
        raise
    seconds = round(time.perf_counter() - started, 3)
    if args.json:
        _print_json({"sources": [r.to_json() for r in reports], "seconds": seconds})
    else:
        _print_index_table(reports, seconds)
    return 1 if any(r.failed for r in reports) else 0


def _failed_source(name: str, error: str) -> dict[str, Any]:
    from indexer.runs import SourceReport

    return SourceReport(name, errors=[error], failed=True, complete=False).to_json()


def _one_line(exc: Exception) -> str:
    """The error as the CLI prints it (RagbotError messages are for users; anything else is named)."""
    return str(exc) if isinstance(exc, RagbotError) else f"unexpected failure ({type(exc).__name__}: {exc})"


def _record_failed(settings, names: list[str], exc: Exception) -> None:  # type: ignore[no-untyped-def]
    """A run that failed before any source report existed still goes into runs.jsonl."""
    from datetime import UTC, datetime

    from indexer.runs import RunLog, SourceReport

    now = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        for name in names:
            report = SourceReport(name, errors=[_one_line(exc)], failed=True, complete=False)
            report.started_at = report.finished_at = now
            RunLog(settings.data_dir).append(report)
    except OSError:
        logging.getLogger(__name__).warning("cannot record the failed run in %s", settings.data_dir)


class _Progress:
    """A rich progress bar per source on a terminal; silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                transient=False,
            )
            self._bar.__enter__()
        return self

    def update(self, source: str, done: int, total: int) -> None:
        if self._bar is None:
            return
        if source not in self._tasks:
            self._tasks[source] = self._bar.add_task(source, total=total)
        self._bar.update(self._tasks[source], completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


def _print_index_table(reports, seconds: float) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from bot.logs import redact

    table = Table(title=f"Indexed in {seconds:.1f} s")
    columns = ("source", "fetched", "added", "updated", "deleted", "unchanged", "failed", "chunks embedded", "errors")
    for column in columns:
        table.add_column(column, justify="left" if column == "source" else "right")
    for r in reports:
        table.add_row(
            r.name,
            str(r.fetched),
            str(r.added),
            str(r.updated),
            str(r.deleted),
            str(r.unchanged),
            str(r.failed_documents),
            str(r.chunks_embedded),
            str(len(r.errors)),
        )
    console = Console()
    if not console.is_terminal:
        console.width = 120  # piped or in CI: room for every column header
    console.print(table)
    for r in reports:
        if not r.complete and not r.failed:
            console.print(f"[yellow]{r.name}[/]: the listing was incomplete, so nothing was deleted", markup=True)
        for error in r.errors:
            console.print(f"[yellow]{r.name}[/]: {escape(redact(error))}", markup=True, highlight=False)


# -- ask -------------------------------------------------------------------------------
def cmd_ask(args: argparse.Namespace) -> int:
    from bot.core import RagCore, validate_question

    settings = _settings(args)
    validate_question(args.question, settings.limits.max_question_chars)  # fail before loading models
    if args.k is not None and not 1 <= args.k <= 50:
        raise RagbotError("--k must be between 1 and 50")
    core = RagCore(settings)
    try:
        answer = core.ask(args.question, k=args.k, source=args.source, sets=args.sets)
    finally:
        core.close()
    if args.json:
        _print_json(answer.to_json())
        return 0
    print(answer.text)
    cited = answer.cited()
    groups = (
        [
            ("Sources:", [c for c in answer.citations if c.n in cited]),
            ("Related:", [c for c in answer.citations if c.n not in cited]),
        ]
        if answer.answered
        else [("Closest sources:", answer.citations)]
    )
    for heading, citations in groups:
        if citations:
            print(f"\n{heading}")
            for c in citations:
                print(f"  [{c.n}] {c.title} - {c.url}")
    return 0


# -- status ----------------------------------------------------------------------------
def cmd_status(args: argparse.Namespace) -> int:
    from bot.store import open_store
    from indexer.runs import RunLog

    settings = _settings(args)
    store = open_store(settings)
    try:
        run_log = RunLog(settings.data_dir)
        runs = run_log.last_runs()
        sources = []
        for source in settings.sources:
            states = store.document_states(source.name)
            last = runs.get(source.name)
            sources.append(
                {
                    "name": source.name,
                    "type": source.type,
                    "documents": len(states),
                    "chunks": sum(s.chunk_count for s in states.values()),
                    "last_run": last and last.get("finished_at"),
                    "last_status": last and last.get("status"),
                    "last_error": (last["errors"][-1] if last and last.get("errors") else None),
                    "schedule": source.schedule,
                    "next_run": _next_run(source.schedule, settings),
                }
            )
        meta = getattr(store, "meta", lambda: {})()
        from bot.chatstate import open_chat_state

        chat_state = open_chat_state(settings, store)
        feedback = chat_state.feedback_counts()
        chat_state.close()
        payload = {
            "store": {"backend": store.backend_name, "collection": settings.collection, "chunks": store.count()},
            "embedding_model": settings.embedding.model,
            "indexed_with": meta.get("embedding_model") or meta.get("model"),
            "generator": settings.generator.backend,
            "data_dir": str(settings.data_dir),
            "feedback": feedback,
            "sources": sources,
            "recent_runs": run_log.recent(10),
        }
    finally:
        store.close()
    if args.json:
        _print_json(payload)
        return 0
    print(
        f"store: {payload['store']['backend']}, collection {settings.collection!r}, {payload['store']['chunks']} chunks"
    )
    print(f"embedding model: {settings.embedding.model}; generator: {settings.generator.backend}")
    print(f"feedback: {feedback['up']} helpful, {feedback['down']} not helpful")
    for s in sources:
        schedule = f", schedule {s['schedule']!r}, next {s['next_run']}" if s["schedule"] else ", no schedule"
        print(
            f"- {s['name']} ({s['type']}): {s['documents']} documents, {s['chunks']} chunks, "
            f"last run {s['last_run'] or 'never'}{' (' + s['last_status'] + ')' if s['last_status'] else ''}{schedule}"
        )
        if s["last_error"]:
            print(f"  last error: {s['last_error']}")
    if payload["recent_runs"]:
        print("recent runs:")
        for run in payload["recent_runs"]:
            print(
                f"  {run.get('finished_at', '?')} {run['name']}: {run.get('status', '?')}, "
                f"{run.get('fetched', 0)} fetched, {run['added']} added, {run['updated']} updated, "
                f"{run['deleted']} deleted, {run['unchanged']} unchanged, {run.get('failed', 0)} failed, "
                f"{len(run['errors'])} errors"
            )
    return 0


def _next_run(schedule: str | None, settings) -> str | None:  # type: ignore[no-untyped-def]
    """When the cron next fires (before jitter), as the scheduler will compute it."""
    if not schedule:
        return None
    from datetime import UTC, datetime

    from indexer.schedule import cron_trigger

    fire = cron_trigger(schedule, timezone=settings.scheduler.timezone).get_next_fire_time(None, datetime.now(UTC))
    return fire.isoformat(timespec="seconds") if fire else None


# -- eval ------------------------------------------------------------------------------
def cmd_eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.core import RagCore
    from bot.evaluation import evaluate, load_cases, misses, summarise

    path = Path(args.file)
    if not path.is_file():
        raise RagbotError(f"eval file {path} not found")
    cases = load_cases(path)
    settings = _settings(args)
    core = RagCore(settings)
    try:
        results = evaluate(core, cases, k=args.k)
    finally:
        core.close()
    summary = summarise(results)
    if args.json:
        _print_json({**summary, "misses": misses(results)} if args.explain else summary)
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"{path.name}: {summary['questions']} questions")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        if key != "questions":
            table.add_row(key, "n/a" if value is None else f"{value:g}")
    console.print(table)
    if args.explain:
        _print_misses(console, misses(results))
    return 0


def _print_misses(console: Any, rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(title=f"misses: {len(rows)}", show_lines=True)
    for column in ("question", "miss", "rank", "p(answer)", "signals", "answer"):
        table.add_column(column, overflow="fold")
    for row in rows:
        signals = {k: v for k, v in row["decision"].items() if k != "probability"}
        table.add_row(
            row["question"],
            row["miss"],
            str(row["rank"] or "-"),
            f"{row['decision'].get('probability', 0):.2f}",
            " ".join(f"{k}={v:g}" for k, v in signals.items()),
            row["answer"][:160],
        )
    console.print(table)


# -- sets ------------------------------------------------------------------------------
def cmd_sets(args: argparse.Namespace) -> int:
    from bot.access import Conversation, describe_sets, sets_for

    settings = _settings(args)
    if args.dm:
        conversation = Conversation("slack", is_dm=True)
    elif args.slack_channel:
        conversation = Conversation("slack", channel=args.slack_channel, is_private=args.private)
    else:
        conversation = Conversation(
            "discord", channel=args.discord_channel, guild=args.discord_guild, is_private=args.private
        )
    print(describe_sets(sets_for(settings.access, conversation)))
    return 0


# -- serve -----------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from bot.chat import ChatService
    from bot.core import RagCore

    settings = _settings(args)
    from adapters.discord.settings import DiscordSettings
    from adapters.slack.settings import SlackSettings

    slack = SlackSettings.from_env()
    discord_settings = DiscordSettings.from_env()
    if slack is None and discord_settings is None:
        raise RagbotError(
            "no chat platform configured: set SLACK_BOT_TOKEN and/or DISCORD_BOT_TOKEN (see the README's set-up)"
        )
    core = RagCore(settings)
    # Models load now, not on the first question. Nothing here needs the store: serve starts
    # while Qdrant is down (/readyz says so) and a StoreWatch logs when it comes back.
    log_dimension = core.embedder.dimension
    logging.getLogger(__name__).info("encoder ready (%d-d)", log_dimension)
    core.generator  # noqa: B018
    from bot.ops import StoreWatch

    watch = StoreWatch(core).start()
    scheduler = None
    if settings.scheduler.enabled and not args.no_scheduler and any(s.schedule for s in settings.sources):
        from indexer.scheduler import IndexScheduler

        scheduler = IndexScheduler(settings, core.store, core.embedder)
        scheduler.start()

    async def serve() -> None:
        from aiohttp import web

        from bot.chatstate import open_chat_state
        from bot.ops import ops_routes, serve_http

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        service = ChatService(core, open_chat_state(settings, core.store))
        http = web.Application()
        http.add_routes(ops_routes(core, watch))
        tasks = []
        if slack is not None:
            from adapters.slack import create_slack_app
            from adapters.slack.server import run_socket_mode, slack_routes

            slack_app = create_slack_app(service, slack)
            if slack.socket_mode:
                tasks.append(run_socket_mode(slack_app, slack, stop))
            else:
                http.add_routes(slack_routes(slack_app))
        if discord_settings is not None:
            from adapters.discord.runner import run_discord

            tasks.append(run_discord(service, discord_settings, stop))
        tasks.append(serve_http(http, settings.http.host, settings.http.port, stop))
        try:
            await asyncio.gather(*tasks)
        finally:
            stop.set()
            service.state.close()

    logging.getLogger().setLevel(logging.INFO)
    try:
        asyncio.run(serve())
    finally:
        watch.stop()
        if scheduler is not None:
            scheduler.shutdown()
        core.close()
    return 0


# -- scheduler -------------------------------------------------------------------------
def cmd_scheduler(args: argparse.Namespace) -> int:
    import signal
    import threading

    from bot.core import RagCore
    from bot.errors import StoreUnavailable
    from bot.ops import start_ops_thread
    from indexer.scheduler import IndexScheduler

    settings = _settings(args)
    logging.getLogger().setLevel(logging.INFO)
    core = RagCore(settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        scheduler = IndexScheduler(settings, core.store, core.embedder)
        try:  # a wrong model or collection fails now, not at 3 am ...
            core.store.ensure_collection(core.embedder.dimension, core.embedder.model_name)
        except StoreUnavailable as exc:  # ... an unreachable store is waited out: each run retries it
            logging.getLogger(__name__).warning("%s; the schedules keep running and each run tries again", exc)
        stop_http = start_ops_thread(core, settings.http.host, settings.http.port)
        scheduler.start()
        for name, when in scheduler.next_runs().items():
            print(f"scheduled {name}: next run {when:%Y-%m-%d %H:%M:%S %Z}" if when else f"scheduled {name}")
            if args.run_now:
                scheduler.trigger(name)
        sys.stdout.flush()
        while not stop.wait(1.0):  # wake up now and then so signals are handled promptly
            pass
        print("stopping: a run in progress stops after its current document", file=sys.stderr)
        scheduler.shutdown()
        stop_http()
    finally:
        core.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
