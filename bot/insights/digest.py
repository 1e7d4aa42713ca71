"""The weekly digest: the top coverage gaps as one chat message, for Slack or Discord.

Questions are quoted as people typed them, so they are escaped for the platform: a question
containing ``<!channel>`` or ``@everyone`` must not notify anyone (the poster also turns mentions
off where the platform allows it).
"""

from __future__ import annotations

from typing import Literal

from bot.insights.gaps import GapReport

__all__ = ["digest_text", "DIGEST_GAPS"]

DIGEST_GAPS = 5
Platform = Literal["slack", "discord"]


def digest_text(report: GapReport, platform: Platform, *, days: float, limit: int = DIGEST_GAPS) -> str:
    """The message: a headline with the week's numbers, then the top ``limit`` gaps, each with its
    representative question, askers, a suggested title and the closest page."""
    bold = "*" if platform == "slack" else "**"
    period = f"{days:g} days"
    head = (
        f"{bold}Docs coverage gaps, last {period}{bold}: {report.failed} of {report.questions} questions "
        f"were not answered well (refused, 👎 or escalated)."
    )
    if not report.gaps:
        return head + "\nNo gaps: every question found its answer in the docs."
    lines = [head, f"Top {min(limit, len(report.gaps))} of {len(report.gaps)} gaps, by people asking:"]
    for rank, gap in enumerate(report.gaps[:limit], start=1):
        people = f"{gap.askers} {'person' if gap.askers == 1 else 'people'}"
        lines.append(
            f"{rank}. {bold}{_escape(gap.suggested_title, platform)}{bold}: "
            f"“{_escape(gap.representative, platform)}” ({gap.count}×, {people})"
        )
        if gap.closest:
            page = gap.closest[0]
            lines.append(f"    closest page: {_link(page.title, page.url, platform)} (score {page.score:.2f})")
        else:
            lines.append("    no page comes close: a new page is needed")
    lines.append("The full list: `ragbot gaps`, or the admin page at /admin.")
    return "\n".join(lines)


def _escape(text: str, platform: Platform) -> str:
    if platform == "slack":  # Slack reads &, < and > as markup (links, mentions)
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("@", "@\u200b").replace("`", "'")  # Discord: no @everyone, no code spans


def _link(title: str, url: str, platform: Platform) -> str:
    if platform == "slack":
        return f"<{url}|{_escape(title, platform).replace('|', '/')}>"
    return f"[{_escape(title, platform).replace(']', ')')}](<{url}>)"
