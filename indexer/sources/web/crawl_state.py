"""What a crawl remembers between runs: for each fetched URL, its document and its links.

Unchanged pages answer 304 without a body, so the links each page had are kept here (one small
JSON file per source under the data dir) and followed again when the page is not re-read.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["PageInfo", "load_state", "save_state"]


@dataclass
class PageInfo:
    """What the crawl state remembers of one fetched URL."""

    doc_url: str | None  # the page's canonical URL (its document), None if not indexed (noindex)
    links: list[str] = field(default_factory=list)


def load_state(path: Path) -> dict[str, PageInfo]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # no state: every page is fetched in full, which is always safe
    return {url: PageInfo(item.get("doc"), list(item.get("links", []))) for url, item in raw.items()}


def save_state(path: Path, pages: dict[str, PageInfo]) -> None:
    """Written whole and renamed into place: a crash leaves the old state or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {url: {"doc": info.doc_url, "links": info.links} for url, info in sorted(pages.items())}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(payload), encoding="utf-8")
    os.replace(temporary, path)
