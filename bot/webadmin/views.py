"""What the admin page shows, gathered in one blocking call (run in a thread by the handlers).

The same functions as the CLI produce the numbers: :func:`bot.insights.report.gap_report` (as
``ragbot gaps``), the AdminOps' status (as ``ragbot status``), the training registry (as
``ragbot train --list``). A part that can't be had now (the store down) is shown as an error in
its own panel; the rest of the page still renders.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.admin import AdminOps, Status
from bot.chatstate import ChatState
from bot.core import RagCore
from bot.errors import RagbotError
from bot.insights.chart import questions_per_day_svg
from bot.insights.gaps import Gap, GapReport
from bot.insights.overview import Overview, overview, window_start
from bot.insights.report import gap_report
from bot.logs import redact

__all__ = ["PageData", "load_page_data", "sort_gaps", "GAP_SORTS", "training_panel", "safe_link"]

log = logging.getLogger(__name__)

GAP_SORTS: dict[str, Callable[[Gap], Any]] = {
    "askers": lambda g: (g.askers, g.count),
    "count": lambda g: (g.count, g.askers),
    "title": lambda g: g.suggested_title.lower(),
    "last": lambda g: g.last_asked,
    "score": lambda g: g.closest[0].score if g.closest else -1.0,
}


@dataclass
class PageData:
    days: int
    overview: Overview
    chart_svg: str
    gaps: GapReport
    status: Status | None
    status_error: str | None
    training: dict[str, Any] | None


def load_page_data(core: RagCore, state: ChatState, admin: AdminOps | None, *, days: int) -> PageData:
    now = time.time()
    start = window_start(days, now)
    log_error = None
    try:
        records = state.questions(start)
    except Exception as exc:  # the chat state's Qdrant is down: the sources panel still helps
        log.warning("admin page: the question log is unreadable: %s", redact(str(exc)))
        records, log_error = [], f"the question log can't be read now ({type(exc).__name__}); see the logs"
    summary = overview(records, days=days, now=now)
    report = gap_report(core, state, since_s=now - start, records=records)
    if log_error:
        report.warnings.insert(0, log_error)
    status: Status | None = None
    status_error = None
    if admin is None:
        status_error = "this process has no index admin operations"
    else:
        try:
            status = admin.status()
        except RagbotError as exc:
            status_error = redact(str(exc))
        except Exception as exc:  # the page still renders; the logs have the details
            log.exception("admin page: status failed")
            status_error = f"unexpected {type(exc).__name__}; see the logs"
    return PageData(
        days=days,
        overview=summary,
        chart_svg=questions_per_day_svg(summary.days),
        gaps=report,
        status=status,
        status_error=status_error,
        training=training_panel(core.settings.data_dir),
    )


def sort_gaps(gaps: list[Gap], sort: str, descending: bool) -> list[Gap]:
    key = GAP_SORTS.get(sort, GAP_SORTS["askers"])
    return sorted(gaps, key=key, reverse=descending)


def training_panel(data_dir: Path) -> dict[str, Any] | None:
    """The trained query encoders (``ragbot train --list``); None where training is not installed."""
    try:
        from bot.train.deploy import list_versions
        from bot.train.registry import Registry
    except ImportError:
        return None
    registry = Registry(data_dir / "models")
    try:
        rows = list_versions(registry)
        state = registry.state()
    except RagbotError as exc:
        return {"error": redact(str(exc)), "models": [], "active": "base", "can_roll_back": False}
    return {
        "error": None,
        "models": list(reversed(rows)),  # newest first
        "active": state["query_encoder"] or "base",
        "can_roll_back": bool(state["query_encoder"]),
    }


def safe_link(url: str) -> str | None:
    """Only web links become links (an index may hold file: citations)."""
    return url if url.startswith(("https://", "http://")) else None
