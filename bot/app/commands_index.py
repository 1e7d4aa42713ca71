"""``ragbot index``: index the configured sources once, with a progress bar and a table (or JSON)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import Any

from bot.app.common import load, one_line, print_json
from bot.errors import AlreadyRunning

__all__ = ["register", "run"]


def register(commands: Any) -> None:
    index = commands.add_parser("index", help="index the configured sources once")
    index.add_argument("--source", action="append", metavar="NAME", help="only this source (repeatable)")
    index.add_argument("--full", action="store_true", help="re-embed every document, changed or not")
    index.add_argument("--json", action="store_true", help="print one JSON object with the counts")
    index.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Index once. With --json one object is printed whatever happens, and a run that could not
    start (model or store failure) is still recorded in the run history, so `status` shows it."""
    started = time.perf_counter()
    names: list[str] = list(args.source or [])
    try:
        settings = load(args)
        names = names or [s.name for s in settings.sources]
        from bot.app.build import build_core
        from indexer.runner import run_index

        for name in names:
            settings.source(name)
        try:
            with build_core(settings) as app, _Progress(enabled=not args.json and sys.stderr.isatty()) as progress:
                reports = run_index(
                    settings, app.store, app.embedder, args.source, full=args.full, progress=progress.update
                )
        except Exception as exc:
            if not isinstance(exc, AlreadyRunning):  # that one is not a run: the running one records itself
                _record_failed(settings, names, exc)
            raise
    except Exception as exc:
        if args.json:
            print_json(
                {
                    "sources": [_failed_source(name, one_line(exc)) for name in names],
                    "error": one_line(exc),
                    "seconds": round(time.perf_counter() - started, 3),
                }
            )
        raise
    seconds = round(time.perf_counter() - started, 3)
    if args.json:
        print_json({"sources": [r.to_json() for r in reports], "seconds": seconds})
    else:
        _print_table(reports, seconds)
    return 1 if any(r.failed for r in reports) else 0


def _failed_source(name: str, error: str) -> dict[str, Any]:
    from indexer.runs import SourceReport

    return SourceReport(name, errors=[error], failed=True, complete=False).to_json()


def _record_failed(settings: Any, names: list[str], exc: Exception) -> None:
    """A run that failed before any source report existed still goes into runs.jsonl."""
    from datetime import UTC, datetime

    from indexer.runs import RunLog, SourceReport

    now = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        for name in names:
            report = SourceReport(name, errors=[one_line(exc)], failed=True, complete=False)
            report.started_at = report.finished_at = now
            RunLog(settings.data_dir).append(report)
    except OSError:
        logging.getLogger(__name__).warning("cannot record the failed run in %s", settings.data_dir)


class _Progress:
    """A rich progress bar per source on a terminal; silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None
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


def _print_table(reports: list[Any], seconds: float) -> None:
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
