"""The gap report as every front end asks for it: ``ragbot gaps``, ``/admin`` and the digest.

One function builds it from the chat state and the core, so the CLI, the admin page and the
weekly post cannot disagree. The index is only needed for the closest pages: when it can't be
searched (an embedded store held by ``ragbot serve``, Qdrant down) the report still comes, with
a warning saying why the pages are missing.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Collection, Sequence

from bot.chatstate import ChatState, QuestionRecord
from bot.core import RagCore
from bot.errors import InputError, RagbotError
from bot.insights.gaps import ClosestPage, GapReport, Search, find_gaps

__all__ = ["parse_since", "gap_report", "index_search", "CLOSEST_PAGES"]

log = logging.getLogger(__name__)

CLOSEST_PAGES = 3
_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$")
_UNIT_S = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str) -> float:
    """``30d``, ``12h``, ``2w``, ``90m`` as seconds; InputError saying what is accepted otherwise."""
    match = _SINCE.match(text or "")
    if not match or float(match.group(1)) <= 0:
        raise InputError(f"--since {text!r}: give a number and a unit, e.g. 30d, 12h, 2w or 90m")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def index_search(core: RagCore, sets: Collection[str] | None) -> Search:
    """The index's closest pages for a question, searching only ``sets`` (None: every set)."""

    def search(question: str) -> list[ClosestPage]:
        sources = core.retriever.retrieve(question, CLOSEST_PAGES, sets=sets)
        pages = [
            ClosestPage(f"{s.best.title} › {s.best.section}" if s.best.section else s.best.title, s.best.url, s.score)
            for s in sources
        ]
        return sorted(pages, key=lambda page: -page.score)  # by cosine, the figure a writer reads

    return search


def gap_report(
    core: RagCore,
    state: ChatState,
    *,
    since_s: float | None,
    view_sets: frozenset[str] | None = None,
    closest: bool = True,
    records: Sequence[QuestionRecord] | None = None,
) -> GapReport:
    """Gaps among the questions of the last ``since_s`` seconds (None: all kept) that a view of
    ``view_sets`` may see (None: an admin's view), with the index's closest pages. ``records``:
    the log as already read (else it is read from ``state``)."""
    since = time.time() - since_s if since_s is not None else None
    if records is None:
        records = state.questions(since)
    search: Search | None = None
    warnings: list[str] = []
    if closest:
        try:
            ready, reason = core.store.collection_exists(), "the index is empty; run `ragbot index`"
        except RagbotError as exc:  # held by `ragbot serve`, or Qdrant down: the gaps still come
            ready, reason = False, str(exc)
        if ready:
            search = index_search(core, view_sets)
        else:
            warnings.append(f"closest pages not shown: {reason}")
    report = find_gaps(
        records,
        core.embedder.embed,
        distance=core.settings.insights.cluster_distance,
        search=search,
        view_sets=view_sets,
        since=since,
    )
    report.warnings.extend(warnings)
    return report
