"""Cron expressions as people write them, turned into APScheduler triggers.

APScheduler 3 numbers weekdays from Monday (0 = mon) while crontab numbers them from
Sunday (0 and 7 = sun), so numeric weekdays are translated to names before they reach it.
"""

from __future__ import annotations

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


def cron_trigger(expression: str, jitter_s: int | None = None, timezone: str | None = None) -> CronTrigger:
    """A trigger for ``minute hour day month weekday`` (or @hourly, @daily, ...); ValueError if invalid."""
    fields = _SHORTCUTS.get(expression.strip().lower(), expression).split()
    if len(fields) != 5:
        raise ValueError(
            f"cron {expression!r} needs 5 fields (minute hour day month weekday), e.g. '0 * * * *' for hourly"
        )
    minute, hour, day, month, weekday = fields
    try:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=_weekday_names(weekday),
            jitter=jitter_s or None,
            timezone=timezone,
        )
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
