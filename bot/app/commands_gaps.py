"""``ragbot gaps``: what people asked that the docs don't answer, grouped and ranked (issue 16)."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.app.common import load, print_json
from bot.errors import InputError

if TYPE_CHECKING:
    from bot.insights.gaps import GapReport

__all__ = ["register", "run", "CSV_COLUMNS", "write_csv"]

CSV_COLUMNS = (
    "rank",
    "suggested_title",
    "representative",
    "examples",
    "count",
    "askers",
    "refused",
    "down",
    "escalated",
    "last_asked",
    "closest_title",
    "closest_url",
    "closest_score",
    "sets",
)


def register(commands: Any) -> None:
    gaps = commands.add_parser(
        "gaps", help="coverage gaps: refused, 👎'd or escalated questions grouped by meaning, most askers first"
    )
    gaps.add_argument("--since", default="30d", help="how far back: 30d (default), 12h, 2w, 90m")
    gaps.add_argument("--json", action="store_true", help="print one JSON object")
    gaps.add_argument("--csv", metavar="FILE", help="also write one row per gap to FILE")
    gaps.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SET",
        help="only what a conversation searching these document sets may see (repeatable; default: everything)",
    )
    gaps.add_argument("--limit", type=int, default=20, metavar="N", help="gaps in the table (default 20)")
    gaps.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from bot.insights.report import gap_report, parse_since

    since_s = parse_since(args.since)
    if args.limit < 1:
        raise InputError("--limit must be 1 or more")
    settings = load(args)
    if not settings.insights.enabled:
        print("note: [insights] enabled = false: no new questions are logged", file=sys.stderr)
    from bot.app.build import build_core

    with build_core(settings) as app:
        view = frozenset(args.set) if args.set else None
        report = gap_report(app.core, app.chat_state(), since_s=since_s, view_sets=view)
    if args.csv:
        write_csv(report, Path(args.csv))
    if args.json:
        print_json(report.to_json())
    else:
        _print_table(report, args.since, args.limit)
    if args.csv and not args.json:
        print(f"wrote {len(report.gaps)} gap(s) to {args.csv}", file=sys.stderr)
    return 0


def write_csv(report: GapReport, path: Path) -> None:
    """One row per gap, in rank order (the columns are :data:`CSV_COLUMNS`)."""
    try:
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(CSV_COLUMNS)
            for rank, gap in enumerate(report.gaps, start=1):
                best = gap.closest[0] if gap.closest else None
                writer.writerow(
                    [
                        rank,
                        gap.suggested_title,
                        gap.representative,
                        " | ".join(gap.examples),
                        gap.count,
                        gap.askers,
                        gap.reasons["refused"],
                        gap.reasons["down"],
                        gap.reasons["escalated"],
                        gap.to_json()["last_asked"],
                        best.title if best else "",
                        best.url if best else "",
                        f"{best.score:.4f}" if best else "",
                        " ".join(gap.sets),
                    ]
                )
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}; pass a writable path to --csv") from None


def _print_table(report: GapReport, since: str, limit: int) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console.width = 160  # piped: room for the columns
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    title = (
        f"coverage gaps, last {since}: {len(report.gaps)} gap(s) from {report.failed} of "
        f"{report.questions} question(s) refused, 👎'd or escalated"
    )
    if not report.gaps:
        console.print(title.replace(": 0 gap(s)", ": none"))
        return
    table = Table(title=title, show_lines=True)
    for column, style in (("#", "dim"), ("gap", ""), ("asked", ""), ("why", ""), ("closest page", "")):
        table.add_column(column, style=style, overflow="fold")
    for rank, gap in enumerate(report.gaps[:limit], start=1):
        phrasings = "\n".join(f"[dim]· {escape(example)}[/dim]" for example in gap.examples)
        lock = " [yellow](restricted)[/yellow]" if gap.restricted else ""
        reasons = ", ".join(f"{n} {reason}" for reason, n in gap.reasons.items() if n)
        pages = "\n".join(f"{page.score:.2f} {escape(page.title)}\n[dim]{page.url}[/dim]" for page in gap.closest[:2])
        table.add_row(
            str(rank),
            f"[bold]{escape(gap.suggested_title)}[/bold]{lock}\n{escape(gap.representative)}"
            + (f"\n{phrasings}" if phrasings else ""),
            f"{gap.count}× by {gap.askers}",
            reasons,
            pages or "[red]no page[/red]",
        )
    console.print(table)
    if len(report.gaps) > limit:
        console.print(f"… and {len(report.gaps) - limit} more (--limit, --json or --csv for all)")
