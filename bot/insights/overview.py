"""Is the bot helping? Questions per day, outcome and vote rates, answer latency, and the latest
👎 and escalations: the admin page's overview, computed from the question log."""

from __future__ import annotations

import calendar
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.chatstate.questions import OUTCOMES, QuestionRecord

__all__ = ["DayCount", "Overview", "overview", "window_start"]

_RECENT = 10


@dataclass(frozen=True)
class DayCount:
    day: str  # YYYY-MM-DD, UTC
    answered: int = 0
    refused: int = 0
    other: int = 0  # errors and rate-limited

    @property
    def total(self) -> int:
        return self.answered + self.refused + self.other


@dataclass
class Overview:
    days: list[DayCount]  # oldest first, one per day of the window, empty days included
    total: int
    outcomes: dict[str, int]
    up: int  # answers with at least one 👍
    down: int  # answers with at least one 👎
    escalated: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    recent_down: list[QuestionRecord] = field(default_factory=list)  # newest first
    recent_escalated: list[QuestionRecord] = field(default_factory=list)

    def rate(self, outcome: str) -> float:
        """Share of all questions with this outcome."""
        return self.outcomes.get(outcome, 0) / self.total if self.total else 0.0

    @property
    def replied(self) -> int:
        """Questions that got an answer or a "not in the docs": what can be voted on."""
        return self.outcomes.get("answered", 0) + self.outcomes.get("refused", 0)

    @property
    def up_rate(self) -> float:
        return self.up / self.replied if self.replied else 0.0

    @property
    def down_rate(self) -> float:
        return self.down / self.replied if self.replied else 0.0


def overview(
    records: Sequence[QuestionRecord],
    *,
    days: int = 30,
    now: float | None = None,
    view_sets: frozenset[str] | None = None,
) -> Overview:
    """The last ``days`` days (today included) of what a view of ``view_sets`` may see (None: all)."""
    now = now if now is not None else time.time()
    today = _day(now)
    window = [_day(now - i * 86400) for i in range(max(days, 1) - 1, -1, -1)]
    start = window_start(days, now)
    shown = [r for r in records if r.visible_to(view_sets) and r.asked_at >= start and _day(r.asked_at) <= today]
    per_day: dict[str, Counter[str]] = {day: Counter() for day in window}
    for record in shown:
        per_day.setdefault(_day(record.asked_at), Counter())[record.outcome] += 1
    counts = [DayCount(day, c["answered"], c["refused"], c["error"] + c["rate_limited"]) for day, c in per_day.items()]
    latencies = [r.latency_ms for r in shown if r.outcome in ("answered", "refused")]
    p50, p95 = (float(v) for v in np.percentile(latencies, [50, 95])) if latencies else (None, None)
    newest = sorted(shown, key=lambda r: r.asked_at, reverse=True)
    return Overview(
        days=counts,
        total=len(shown),
        outcomes={o: sum(r.outcome == o for r in shown) for o in OUTCOMES},
        up=sum(r.votes_up > 0 for r in shown),
        down=sum(r.votes_down > 0 for r in shown),
        escalated=sum(r.escalated for r in shown),
        latency_p50_ms=p50,
        latency_p95_ms=p95,
        recent_down=[r for r in newest if r.votes_down > 0][:_RECENT],
        recent_escalated=[r for r in newest if r.escalated][:_RECENT],
    )


def window_start(days: int, now: float | None = None) -> float:
    """Midnight UTC of the first of the last ``days`` days, today included: where the overview's
    chart starts, and so where the admin page's gaps start too (the numbers must agree)."""
    now = now if now is not None else time.time()
    return float(calendar.timegm(time.strptime(_day(now - (max(days, 1) - 1) * 86400), "%Y-%m-%d")))


def _day(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(timestamp))
