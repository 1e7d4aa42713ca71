"""``ragbot index``: index the configured sources once, with a progress bar and a table (or JSON)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from bot.app.common import load, one_line, print_json
from bot.errors import AlreadyRunning

__all__ = ["register", "run"]


def register(commands: Any) -> None:
    index = commands.add_parser("index", help="index the configured sources once")
    index.add_argument("--source", action="append", metavar="NAME", help="only this source (repeatable)")
    index.add_argument("--full", action="store_true", help="re-embed every document, changed or not")
    index.add_argument("--json", action="store_true", help="print one JSON object with the counts")
    index.add_argument(
        "--profile",
        action="store_true",
        help="also show the seconds and share of the run spent listing/fetching, parsing+chunking, "
        "loading the model, embedding and writing, per source (with --json: a `profile` object)",
    )
    index.add_argument(
        "--sequential",
        action="store_true",
        help="list and parse, then embed, instead of overlapping them (faster for the fp32 encoder on a "
        "2-core machine reading local files: docs/benchmarks.md, section 18)",
    )
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
                # The model loads (under the spinner) only once a document needs embedding.
                reports = run_index(
                    settings,
                    app.store,
                    app.core.new_embedder(),
                    args.source,
                    full=args.full,
                    progress=progress.update,
                    loading=progress.loading,
                    pipelined=not args.sequential,
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
        sources = [{**r.to_json(), **({"profile": r.stages} if args.profile else {})} for r in reports]
        print_json({"sources": sources, "seconds": seconds})
    else:
        _print_table(reports, seconds)
        if args.profile:
            _print_profile(reports)
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
    """On a terminal (stderr): a spinner while the embedding model loads (seconds, before anything
    else moves), then a bar per source that advances with each slice of chunks embedded, the slow
    part. Silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[count]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._bar.__enter__()
        return self

    def loading(self, load: Callable[[], object]) -> None:
        """Call ``load`` (the embedding model's load) under a spinner."""
        if self._bar is None:
            load()
            return
        task = self._bar.add_task("loading the embedding model…", total=None, count="")
        started = time.perf_counter()
        try:
            load()
        finally:
            self._bar.remove_task(task)
        self._bar.console.print(f"loaded the embedding model in {time.perf_counter() - started:.1f} s")

    def update(self, source: str, embedded: int, planned: int) -> None:
        """Chunks embedded of those to embed so far (the total grows while documents are chunked)."""
        if self._bar is None:
            return
        if source not in self._tasks:
            self._tasks[source] = self._bar.add_task(source, total=planned, count="")
        # Draw every slice now: the 10 Hz auto-refresh skips slices that embed faster than that.
        self._bar.update(
            self._tasks[source], completed=embedded, total=planned, count=f"{embedded}/{planned} chunks", refresh=True
        )

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


_STAGE_NAMES = {
    "list_fetch": "list/fetch",
    "parse_chunk": "parse+chunk",
    "model_load": "model load",
    "embed": "embed",
    "store_write": "store write",
}


def _print_profile(reports: list[Any]) -> None:
    """Seconds and share of the wall time per stage; listing and parsing overlap embedding, so
    the shares can add up to more than 100%."""
    import os

    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = 160  # piped or in CI: room for every column
    table = Table(title="Time per stage (overlapping stages add up to more than the wall time)")
    table.add_column("source", no_wrap=True)
    for name in (*_STAGE_NAMES.values(), "wall"):
        table.add_column(name, justify="right", no_wrap=True)
    for r in reports:
        stages = r.stages
        cells = [
            f"{stages.get(f'{key}_s', 0):.2f} s {100 * stages.get(f'{key}_share', 0):.0f}%" for key in _STAGE_NAMES
        ]
        table.add_row(r.name, *cells, f"{stages.get('wall_s', 0):.2f} s")
    console.print(table)


def _print_table(reports: list[Any], seconds: float) -> None:
    """One row per source; on a console too narrow for every column (80 columns fit 6), one
    block per source whose counts wrap, so no name or number is ever cut to `handb…`."""
    import os

    from rich.console import Console
    from rich.markup import escape
    from rich.measure import Measurement
    from rich.table import Table

    from bot.logs import redact

    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = 120  # piped or in CI: room for every column header
    counts = [
        {
            "fetched": r.fetched,
            "added": r.added,
            "updated": r.updated,
            "deleted": r.deleted,
            "unchanged": r.unchanged,
            "failed": r.failed_documents,
            "chunks embedded": r.chunks_embedded,
            "errors": len(r.errors),
        }
        for r in reports
    ]
    title = f"Indexed in {seconds:.1f} s"
    table = Table(title=title)
    table.add_column("source", no_wrap=True)
    for column in counts[0] if counts else ():
        table.add_column(column, justify="right", no_wrap=True)
    for r, row in zip(reports, counts, strict=True):
        table.add_row(r.name, *(str(value) for value in row.values()))
    if Measurement.get(console, console.options.update_width(10_000), table).maximum <= console.width:
        console.print(table)
    else:
        stacked = Table.grid(padding=(0, 2))
        stacked.add_column(no_wrap=True)
        stacked.add_column(overflow="fold")
        for r, row in zip(reports, counts, strict=True):
            stacked.add_row(f"[bold]{escape(r.name)}[/]", ", ".join(f"{value} {key}" for key, value in row.items()))
        console.print(title)
        console.print(stacked)
    for r in reports:
        if not r.complete and not r.failed:
            console.print(f"[yellow]{r.name}[/]: the listing was incomplete, so nothing was deleted", markup=True)
        for error in r.errors:
            console.print(f"[yellow]{r.name}[/]: {escape(redact(error))}", markup=True, highlight=False)
