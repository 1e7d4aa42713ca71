"""``ragbot eval``: score retrieval and answers on a JSONL file of questions."""

from __future__ import annotations

import argparse
from typing import Any

from bot.app.common import load, print_json
from bot.errors import RagbotError

__all__ = ["register", "run"]


def register(commands: Any) -> None:
    evaluate = commands.add_parser("eval", help="score retrieval and answers on a JSONL file of questions")
    evaluate.add_argument("file", help='JSONL: {"question", "expected_urls", "answer_contains"?, "answerable"?}')
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--k", type=int, help="source documents per answer")
    evaluate.add_argument(
        "--explain", action="store_true", help="list the misses with the answer-or-refuse decision's inputs"
    )
    evaluate.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.app.build import build_core
    from bot.evaluation import evaluate, load_cases, misses, question_rows, summarise

    path = Path(args.file)
    if not path.is_file():
        raise RagbotError(f"eval file {path} not found")
    cases = load_cases(path)
    settings = load(args)
    with build_core(settings) as app:
        app.core.load_models()  # before the first question, so its latency is its own
        results = evaluate(app.core, cases, k=args.k)
    summary = summarise(results)
    rows = question_rows(results)
    if args.json:
        payload = {**summary, "rows": rows}
        print_json({**payload, "misses": misses(results)} if args.explain else payload)
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
    _print_question_misses(console, [row for row in rows if row["miss"]])
    if args.explain:
        _print_misses(console, misses(results))
    return 0


def _print_question_misses(console: Any, rows: list[dict[str, Any]]) -> None:
    """The questions that went wrong: what was expected, what came back first instead, its score.
    Long cells wrap (no column is cut to `handb…` at 80 columns)."""
    from rich.table import Table

    if not rows:
        console.print("no misses: every question found its expected page first and was answered right")
        return
    table = Table(title=f"questions that missed: {len(rows)}", show_lines=True)
    for column in ("question", "miss", "expected", "got instead"):
        table.add_column(column, overflow="fold", justify="left")
    table.add_column("top score", justify="right", no_wrap=True)
    for row in rows:
        expected = "\n".join(row["expected_urls"]) or "(none: unanswerable)"
        got = row["top_url"] or "(nothing)"
        if row["rank"]:
            got += f"\n(expected page ranked {row['rank']})"
        table.add_row(row["question"], row["miss"], expected, got, f"{row['top_score']:.3f}")
    console.print(table)


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
