"""Questions per day as an inline SVG bar chart, drawn on the server.

No JavaScript and no chart library: the admin page must work offline and behind a firewall,
and a stacked bar chart is a few rectangles. The SVG scales to its container (``viewBox``), so
the same markup fits a laptop and a phone; each bar has a ``<title>`` (the numbers on hover or
long press) and the chart has a text description for screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from bot.insights.overview import DayCount

__all__ = ["questions_per_day_svg"]

_WIDTH, _HEIGHT = 720, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 36, 8, 12, 28
_SERIES = (("answered", "bar-answered"), ("refused", "bar-refused"), ("other", "bar-other"))


def questions_per_day_svg(days: Sequence[DayCount]) -> str:
    """Stacked bars (answered, refused, errors + rate-limited) per day, oldest on the left."""
    plot_w, plot_h = _WIDTH - _LEFT - _RIGHT, _HEIGHT - _TOP - _BOTTOM
    top = _nice_max(max((d.total for d in days), default=0))
    slot = plot_w / max(len(days), 1)
    bar = max(slot * 0.72, 1.0)
    total = sum(d.total for d in days)
    label = f"Questions per day, {days[0].day} to {days[-1].day}: {total} in all" if days else "No days"
    parts = [
        f'<svg class="chart" viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" aria-labelledby="chart-title" '
        'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">',
        f'<title id="chart-title">{escape(label)}</title>',
    ]
    for value in (0, top // 2, top):  # gridlines with their counts
        y = _TOP + plot_h - (value / top) * plot_h
        parts.append(f'<line class="grid" x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value}</text>')
    for i, day in enumerate(days):
        x = _LEFT + i * slot + (slot - bar) / 2
        base = _TOP + plot_h
        tip = f"{day.day}: {day.answered} answered, {day.refused} not in the docs, {day.other} errors or rate-limited"
        parts.append(f'<g class="day" data-day="{day.day}" data-total="{day.total}"><title>{escape(tip)}</title>')
        for name, css in _SERIES:
            value = getattr(day, name)
            if not value:
                continue
            height = value / top * plot_h
            base -= height
            parts.append(f'<rect class="{css}" x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{height:.1f}"/>')
        parts.append("</g>")
    for i in sorted({0, len(days) // 2, len(days) - 1} if days else set()):  # a few dates under the axis
        x = _LEFT + i * slot + slot / 2
        parts.append(f'<text class="axis" x="{x:.1f}" y="{_HEIGHT - 8}" text-anchor="middle">{days[i].day[5:]}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _nice_max(value: int) -> int:
    """A round top for the y axis (at least 2, so the middle gridline is a whole number)."""
    if value <= 2:
        return 2
    for step in (2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step:
            return step
    return (value // 10000 + 1) * 10000
