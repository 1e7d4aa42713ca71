"""Cron expressions as people write them, turned into APScheduler triggers.

APScheduler 3 numbers weekdays from Monday (0 = mon) while crontab numbers them from
Sunday (0 and 7 = sun), so numeric weekdays are translated to names before they reach it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

__all__ = ["cron_trigger"]

_SHORTCUTS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _OffsetCronTrigger(CronTrigger):
    """A cron trigger that fires a fixed ``offset`` after each cron time.

    It replaces APScheduler's random jitter, which draws a new delay each time the next run is
    computed, so the time ``ragbot scheduler`` prints and the time of the run after a
    ``--run-now`` disagreed (06:00:07, then 06:00:29). A fixed offset per source still keeps
    sources with the same cron from starting at once."""

    def __init__(self, offset: timedelta, **fields: object) -> None:
        super().__init__(**fields)  # ``jitter`` stays the configured maximum
        self.offset = offset

    def _apply_jitter(self, next_fire_time: datetime | None, jitter: int | None, now: datetime) -> datetime | None:
        return next_fire_time  # no random delay: the fixed offset is added below

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        previous = previous_fire_time - self.offset if previous_fire_time else None
        base = super().get_next_fire_time(previous, now - self.offset)
        return base + self.offset if base else None


def _offset(jitter_s: int, key: str) -> timedelta:
    """The same delay in [0, jitter_s] every time for ``key`` (the source's name)."""
    return timedelta(seconds=int(hashlib.sha256(key.encode()).hexdigest(), 16) % (jitter_s + 1))


def cron_trigger(
    expression: str, jitter_s: int | None = None, timezone: str | None = None, key: str = ""
) -> CronTrigger:
    """A trigger for ``minute hour day month weekday`` (or @hourly, @daily, ...); ValueError if invalid.

    With ``jitter_s``, each run starts a fixed delay of up to ``jitter_s`` seconds after the cron
    time, the same for the same ``key`` (e.g. the source's name)."""
    fields = _SHORTCUTS.get(expression.strip().lower(), expression).split()
    if len(fields) != 5:
        raise ValueError(
            f"cron {expression!r} needs 5 fields (minute hour day month weekday), e.g. '0 * * * *' for hourly"
        )
    minute, hour, day, month, weekday = fields
    cron = {
        "minute": minute,
        "hour": hour,
        "day": day,
        "month": month,
        "day_of_week": _weekday_names(weekday),
        "timezone": timezone,
    }
    try:
        if jitter_s:
            return _OffsetCronTrigger(_offset(jitter_s, key or expression), jitter=jitter_s, **cron)
        return CronTrigger(**cron)
    except ValueError as exc:
        raise ValueError(f"cron {expression!r}: {exc}") from None


def _weekday_names(field: str) -> str:
    """Crontab weekday numbers (0-7, Sunday = 0 or 7) as names APScheduler reads the same way."""
    if field == "*" or not any(ch.isdigit() for ch in field.split("/")[0]):
        return field
    days: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            first_text, last_text = span.split("-", 1)
            first, last = int(first_text), int(last_text)
        else:
            first = last = int(span)
            if step_text:
                last = 6
        if not (0 <= first <= 7 and 0 <= last <= 7 and first <= last and step >= 1):
            raise ValueError(f"weekday {part!r} is out of range (0-7, Sunday = 0 or 7)")
        days.update(day % 7 for day in range(first, last + 1, step))
    return ",".join(_CRON_DAYS[day] for day in sorted(days))
