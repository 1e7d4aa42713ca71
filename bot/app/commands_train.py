"""``ragbot train``: fine-tune the query encoder on the docs, chat feedback and QA files; list,
activate and roll back the versions kept under ``data_dir/models/``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.app.common import load, print_json
from bot.errors import InputError

__all__ = ["register", "run"]


def register(commands: Any) -> None:
    train = commands.add_parser(
        "train", help="fine-tune the query encoder (and --generator) on the docs, feedback and QA files"
    )
    train.add_argument(
        "--qa",
        action="append",
        default=[],
        metavar="FILE.jsonl",
        help="QA file in the `ragbot eval` format (repeatable)",
    )
    train.add_argument("--no-corpus", action="store_true", help="no pseudo-queries from the indexed docs")
    train.add_argument("--no-feedback", action="store_true", help="ignore chat 👍/👎")
    train.add_argument("--generator", action="store_true", help="also LoRA-tune the `transformers` generator")
    train.add_argument(
        "--max-minutes", type=float, metavar="N", help="wall-clock budget (default: [training] max_minutes)"
    )
    train.add_argument("--seed", type=int, metavar="N", help="random seed (default: [training] seed)")
    train.add_argument("--json", action="store_true", help="print one JSON object")
    manage = train.add_mutually_exclusive_group()
    manage.add_argument("--list", action="store_true", help="list the trained query encoders")
    manage.add_argument("--activate", type=int, metavar="N", help="make query-N the live query encoder")
    manage.add_argument("--rollback", action="store_true", help="go back to the query encoder active before")
    train.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = load(args)
    if args.list or args.activate is not None or args.rollback:
        return _manage(args, settings)
    from bot.app.build import build_core
    from bot.app.training import train
    from bot.train.run import TrainOptions

    paths = [Path(p) for p in args.qa]
    for path in paths:
        if not path.is_file():
            raise InputError(f"QA file {path} not found")
    if args.max_minutes is not None and args.max_minutes <= 0:
        raise InputError("--max-minutes must be more than 0")
    training = settings.training
    options = TrainOptions(
        qa_files=tuple([*training.qa, *paths]),
        corpus=training.corpus and not args.no_corpus,
        feedback=training.feedback and not args.no_feedback,
        generator=args.generator,
        max_minutes=args.max_minutes if args.max_minutes is not None else training.max_minutes,
        seed=args.seed if args.seed is not None else training.seed,
    )
    with build_core(settings) as app, _Progress(enabled=not args.json and sys.stderr.isatty()) as progress:
        state = app.chat_state() if options.feedback else None
        report = train(settings, app.core, state, options, progress.update)
    if args.json:
        print_json(report.to_json())
    else:
        print(report.summary())
    return 0


def _manage(args: argparse.Namespace, settings: Any) -> int:
    from bot.embedder import Embedder
    from bot.errors import StoreUnavailable
    from bot.logs import redact
    from bot.store import Store, open_store
    from bot.train.deploy import activate, list_versions, rollback
    from bot.train.registry import Registry

    registry = Registry(settings.data_dir / "models")
    if args.list:
        rows = list_versions(registry)
        if args.json:
            print_json({"models": rows, "active": registry.state()["query_encoder"] or "base"})
        else:
            _print_versions(rows, registry.state()["query_encoder"])
        return 0
    version = None if args.rollback else registry.get(args.activate)
    embedder = Embedder(settings.embedding)  # for its name and weights' fingerprint: nothing is loaded
    try:
        store: Store | None = open_store(settings)
    except StoreUnavailable as exc:
        store = None
        warning = f"warning: {exc}. Checked against [embedding] model only; a running bot switches at its next "
        print(redact(warning + "question and records the switch in the index"), file=sys.stderr)
    try:
        if version is None:
            name = rollback(registry, store, embedder)
        else:
            activate(registry, version, store, embedder)
            name = version.name
    finally:
        if store is not None:
            store.close()
    if args.json:
        print_json({"active": name})
    else:
        print(f"query encoder now: {name}" + (" (the document encoder)" if name == "base" else ""))
    return 0


def _print_versions(rows: list[dict[str, Any]], active: str | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"query encoders (active: {active or 'base'})")
    for column in ("model", "active", "created", "pairs", "mrr@10 before -> after", "activated", "reason"):
        table.add_column(column, overflow="fold")
    for row in rows:
        pairs = " ".join(f"{k}={v}" for k, v in row["pairs"].items())
        mrr = f"{row['before'].get('mrr@10', 0):.3f} -> {row['after'].get('mrr@10', 0):.3f}"
        table.add_row(
            row["model"],
            "*" if row["active"] else "",
            str(row["created_at"]),
            pairs,
            mrr,
            str(row["activated"]),
            row["reason"],
        )
    console = Console()
    if not console.is_terminal:
        console.width = 160  # piped: room for the columns
    console.print(table)


class _Progress:
    """A rich progress bar per stage (held-out evaluation, training steps) on a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
            )
            self._bar.__enter__()
        return self

    def update(self, stage: str, done: int, total: int) -> None:
        if self._bar is None:
            return
        if stage not in self._tasks:
            self._tasks[stage] = self._bar.add_task(stage, total=total)
        self._bar.update(self._tasks[stage], completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
