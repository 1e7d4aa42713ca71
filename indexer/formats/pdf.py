"""PDF -> sections: the text of each page, split at the headings of the PDF's outline.

Each section's anchor is ``page=N``, so a citation reads ``report.pdf#page=N``: every
browser PDF viewer opens the file at that page. Headings come from the outline (the
bookmarks pane) where the file has one; a PDF without an outline gets one section per
page under the document title. A PDF whose pages hold no text (a scan without OCR) raises
NotIndexable: there is nothing to read until someone runs OCR on it.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

from bot.models import ParsedDocument, Section
from indexer.formats import NotIndexable, require

__all__ = ["parse_pdf"]

_MIN_TEXT_CHARS = 16  # fewer letters than this in the whole file: no text layer
_MAX_OUTLINE_ENTRIES = 2000


@dataclass(frozen=True)
class _Heading:
    level: int
    title: str
    page: int  # 0-based


def parse_pdf(content: bytes, fallback_title: str) -> ParsedDocument:
    pypdf = require("pypdf", "docs", "reading PDF files")
    try:
        reader = pypdf.PdfReader(io.BytesIO(content))
        if reader.is_encrypted and not reader.decrypt(""):
            raise NotIndexable("the PDF is encrypted with a password; save an unprotected copy to index it")
        pages = [_page_text(page) for page in reader.pages]
    except pypdf.errors.PdfReadError as exc:
        raise ValueError(f"not a readable PDF ({exc})") from None
    if sum(len(re.sub(r"\W", "", text)) for text in pages) < _MIN_TEXT_CHARS:
        raise NotIndexable(
            f"no text layer in {len(pages)} page(s) (a scanned PDF?); run OCR on it (e.g. ocrmypdf) to index it"
        )
    pages = _without_running_lines(pages)
    headings = _outline(reader)
    title = _title(reader) or fallback_title  # an outline's first entry is often a chapter, not the title
    return ParsedDocument(title=title, sections=_sections(pages, headings, title))


def _page_text(page: Any) -> str:
    try:
        return str(page.extract_text() or "")
    except Exception:  # one damaged page (a broken font or content stream) must not lose the others
        return ""


def _title(reader: Any) -> str:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:
        return ""
    return " ".join(str(title).split()) if title else ""


def _outline(reader: Any) -> list[_Heading]:
    """The outline's entries in page order (level 1 = top); empty if the file has none."""
    found: list[_Heading] = []

    def walk(items: list[Any], level: int) -> None:
        for item in items:
            if len(found) >= _MAX_OUTLINE_ENTRIES:
                return
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception:
                continue
            title = " ".join(str(getattr(item, "title", "") or "").split())
            if title and page is not None and page >= 0:
                found.append(_Heading(level, title, page))

    try:
        walk(reader.outline, 1)
    except Exception:  # a damaged outline: the pages are still worth indexing
        return []
    return sorted(found, key=lambda heading: heading.page)  # stable: outline order within a page


def _sections(pages: list[str], headings: list[_Heading], title: str) -> list[Section]:
    sections: list[Section] = []
    path: list[_Heading] = []
    by_page: dict[int, list[_Heading]] = {}
    for heading in headings:
        by_page.setdefault(heading.page, []).append(heading)
    for number, text in enumerate(pages):
        anchor = f"page={number + 1}"
        rest = text
        for heading in by_page.get(number, []):
            before, rest = _split_at(rest, heading.title)
            _add(sections, path, anchor, before, title)
            while path and path[-1].level >= heading.level:
                path.pop()
            path.append(heading)
        _add(sections, path, anchor, rest, title)
    return sections


def _split_at(text: str, heading: str) -> tuple[str, str]:
    """(text before the heading line, text after it); all of it after if the heading isn't found.

    A section number the outline leaves out ("2.1 " before "ASN.1 syntax") goes with the heading."""
    words = [re.escape(word) for word in heading.split()]
    pattern = r"(?:^|(?<=\n))[ \t]*(?:\d+(?:\.\d+)*\.?[ \t]+)?" + r"\s+".join(words) if words else ""
    match = re.search(pattern, text, re.I) or (re.search(r"\s+".join(words), text, re.I) if words else None)
    if match is None:
        return "", text
    return text[: match.start()], text[match.end() :]


def _without_running_lines(pages: list[str]) -> list[str]:
    """Drop running headers and footers: a first or last line that recurs (page numbers aside) on
    many pages, such as "Chapter 2: ASN.1 structure handling 3"."""
    if len(pages) < 3:
        return pages
    edges: dict[str, int] = {}
    for text in pages:
        lines = [line for line in text.strip().splitlines() if line.strip()]
        for line in {lines[0], lines[-1]} if lines else set():
            edges[_shape(line)] = edges.get(_shape(line), 0) + 1
    # Three pages alike, or two that end with a page number ("Chapter 2: Utilities 6", "7").
    running = {shape for shape, count in edges.items() if count >= 3 or (count >= 2 and shape.endswith("#"))}
    if not running:
        return pages
    cleaned = []
    for text in pages:
        lines = text.strip().splitlines()
        while lines and _shape(lines[0]) in running:
            lines.pop(0)
        while lines and _shape(lines[-1]) in running:
            lines.pop()
        cleaned.append("\n".join(_bullet(line) for line in lines))
    return cleaned


def _shape(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.split())).lower()


def _bullet(line: str) -> str:
    """PDF bullets ("•", "◦", "▪") as the "- " items every other parser writes."""
    return re.sub(r"^(\s*)[•◦▪‣●]\s*", r"\1- ", line)


def _add(sections: list[Section], path: list[_Heading], anchor: str, text: str, title: str) -> None:
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text.strip().splitlines()))
    if not body:
        return
    heading_path = tuple(h.title for h in path)
    if heading_path and heading_path[0] == title:
        heading_path = heading_path[1:]  # the title is the chunk title already
    sections.append(Section(heading_path=heading_path, anchor=anchor, text=body))
