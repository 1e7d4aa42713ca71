"""Sections as every parser builds them: a heading path, an anchor, and normalised text.

Shared by the Markdown, reStructuredText, plain-text and HTML parsers (``indexer/parse.py``,
``indexer/parse_html.py``), so each section reaches the chunker in one shape.
"""

from __future__ import annotations

import re

from bot.models import Section

__all__ = ["add_section", "drop_title_only"]


def _normalise(text: str) -> str:
    """Blanks at line ends and runs of blank lines go; indentation (Markdown code, nested lists)
    stays."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def add_section(sections: list[Section], heading_path: tuple[str, ...], anchor: str | None, body: str) -> None:
    body = _normalise(body)
    sections.append(Section(heading_path=heading_path, anchor=anchor, text=body))


def drop_title_only(sections: list[Section], title: str | None) -> list[Section]:
    """Drop empty sections, and the page title from heading paths (it is the chunk title already)."""
    kept = []
    for section in sections:
        path = section.heading_path
        if title and path and path[0] == title:
            path = path[1:]
        if section.text:
            kept.append(Section(heading_path=path, anchor=section.anchor, text=section.text))
    return kept
