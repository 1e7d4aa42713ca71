"""Google Docs' HTML export and Sheets' values -> page HTML with the anchors Google links to.

A Docs export gives each heading an id such as ``h.gjdgxs``; the document itself scrolls to
it at ``/edit#heading=h.gjdgxs``, so that is the anchor kept. A sheet becomes one table, its
first row the header, cited at ``/edit#gid=<sheet id>``.
"""

from __future__ import annotations

import html
from typing import Any

from bs4 import BeautifulSoup

__all__ = ["doc_html", "sheet_html"]

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def doc_html(exported: bytes) -> str:
    soup = BeautifulSoup(exported, "lxml")
    for tag in soup.find_all(["style", "script", "title"]):
        tag.decompose()
    for heading in soup.find_all(_HEADINGS):
        if heading.get("id"):
            heading["id"] = f"heading={heading['id']}"
        # The file name is the page's <h1>: the document's own headings go one level down.
        heading.name = f"h{min(int(heading.name[1]) + 1, 6)}"
    body = soup.body or soup
    return "".join(str(child) for child in body.contents)


def sheet_html(rows: list[list[Any]]) -> str:
    width = max((len(row) for row in rows), default=0)
    lines = []
    for number, row in enumerate(rows):
        cells = [str(cell) for cell in row] + [""] * (width - len(row))
        if not any(cell.strip() for cell in cells):
            continue
        tag = "th" if number == 0 else "td"
        lines.append("<tr>" + "".join(f"<{tag}>{html.escape(cell)}</{tag}>" for cell in cells) + "</tr>")
    return "<table>" + "".join(lines) + "</table>" if lines else ""
