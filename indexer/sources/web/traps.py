"""Crawl traps: link spaces a site generates without end (calendars, paginated filters, ids).

A trap does not announce itself, so the crawler caps the shapes traps take, for links found
on pages (start pages and sitemap entries are the site's own list and are never capped):

- URLs whose path has the same *pattern* once numbers and ids are blanked out
  (``/calendar/2031/07`` and ``/calendar/1999/01`` are both ``/calendar/{n}/{n}``): at most
  ``max_pages_per_pattern``;
- distinct query strings on one path (``/search?page=...&sort=...``): at most
  ``max_query_variants``;
- a path that repeats one segment more than :data:`MAX_SEGMENT_REPEATS` times
  (``/a/b/a/b/a/b/a/b``, the mark of relative links resolved against themselves).

A cap is a deliberate choice, like ``exclude``: the pages past it are left out and the
listing of the rest still counts as complete (so vanished pages are deleted). Each capped
pattern is reported once, as a warning of the run.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from urllib.parse import urlsplit

__all__ = ["TrapGuard", "path_pattern", "MAX_SEGMENT_REPEATS"]

MAX_SEGMENT_REPEATS = 3

_ID = re.compile(r"[0-9a-f]{8,}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_TOKEN = re.compile(r"(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{20,}")  # session-like tokens
_NUMBER = re.compile(r"[0-9]+")


def path_pattern(path: str) -> str:
    """The path with numbers and ids blanked out: ``/calendar/2031/07`` -> ``/calendar/{n}/{n}``."""
    segments = []
    for segment in path.split("/"):
        if _ID.fullmatch(segment) or _TOKEN.fullmatch(segment):
            segments.append("{id}")
        else:
            segments.append(_NUMBER.sub("{n}", segment))
    return "/".join(segments)


class TrapGuard:
    """Admits URLs until a pattern or a path's query variants reach their cap."""

    def __init__(self, max_pages_per_pattern: int, max_query_variants: int) -> None:
        self.max_pages_per_pattern = max_pages_per_pattern
        self.max_query_variants = max_query_variants
        self.pattern_counts: Counter[tuple[str, str]] = Counter()
        self.queries: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
        self.skipped: Counter[str] = Counter()  # reason -> URLs left out

    def admit(self, url: str, exempt: bool = False) -> bool:
        """Count ``url``; False if it falls past a cap (``exempt``: counted, never refused)."""
        parts = urlsplit(url)
        reason = None if exempt else self._refusal(parts.netloc, parts.path, parts.query)
        if reason is not None:
            self.skipped[reason] += 1
            return False
        self.pattern_counts[(parts.netloc, path_pattern(parts.path))] += 1
        if parts.query:
            self.queries[(parts.netloc, parts.path)].add(parts.query)
        return True

    def _refusal(self, host: str, path: str, query: str) -> str | None:
        segments = [s for s in path.split("/") if s]
        if segments and max(Counter(segments).values()) > MAX_SEGMENT_REPEATS:
            return f"paths that repeat a segment more than {MAX_SEGMENT_REPEATS} times"
        pattern = path_pattern(path)
        if self.pattern_counts[(host, pattern)] >= self.max_pages_per_pattern:
            return f"pages like {pattern[:120]} past max_pages_per_pattern = {self.max_pages_per_pattern}"
        seen = self.queries[(host, path)]
        if query and query not in seen and len(seen) >= self.max_query_variants:
            return f"query strings on {path[:120]} past max_query_variants = {self.max_query_variants}"
        return None

    def warnings(self, most: int = 10) -> list[str]:
        """One line per cap that was reached (the ``most`` largest): what was left out, and the key."""
        lines = [
            f"crawl trap? skipped {count} URL(s): {reason}; the rest of the listing is complete "
            "(raise the limit if these are real pages)"
            for reason, count in self.skipped.most_common(most)
        ]
        if len(self.skipped) > most:
            lines.append(f"crawl trap? {len(self.skipped) - most} more capped patterns or paths")
        return lines
