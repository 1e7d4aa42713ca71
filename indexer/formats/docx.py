"""Word (.docx) -> sections: headings, lists and tables, through the HTML reader.

The document is rewritten as plain HTML (``<h2>``, ``<ul>``/``<ol>``, ``<table>``) and read
by :func:`indexer.parse.parse_html`, so a Word file's structure reaches the chunker in the
same form as a web page's. Word has no addresses for its headings, so citations link to
the file.
"""

from __future__ import annotations

import html
import io
import re
from typing import Any

from bot.models import ParsedDocument
from indexer.formats import require

__all__ = ["parse_docx", "docx_to_html"]

_HEADING_STYLE = re.compile(r"^(?:heading|überschrift|titre)\s*(\d)$", re.I)


def parse_docx(content: bytes, fallback_title: str) -> ParsedDocument:
    from indexer.parse import parse_html

    return parse_html(docx_to_html(content).encode("utf-8"), fallback_title)


def docx_to_html(content: bytes) -> str:
    docx = require("docx", "docs", "reading Word (.docx) files")
    try:
        document = docx.Document(io.BytesIO(content))
    except Exception as exc:  # python-docx raises several types for a file that is not a .docx
        raise ValueError(f"not a readable .docx file ({type(exc).__name__})") from None
    parts: list[str] = []
    title = (document.core_properties.title or "").strip()
    if title:
        parts.append(f"<title>{html.escape(title)}</title>")
    parts.append("<body>")
    open_list = ""
    for block in document.iter_inner_content():
        kind = _list_kind(block) if not _is_table(block) else ""
        if open_list and kind != open_list:
            parts.append(f"</{open_list}>")
            open_list = ""
        if _is_table(block):
            parts.append(_table(block))
        elif kind:
            if not open_list:
                parts.append(f"<{kind}>")
                open_list = kind
            parts.append(f"<li>{_text(block)}</li>")
        else:
            parts.append(_paragraph(block))
    if open_list:
        parts.append(f"</{open_list}>")
    parts.append("</body>")
    return "\n".join(parts)


def _is_table(block: Any) -> bool:
    return hasattr(block, "rows")


def _style(paragraph: Any) -> str:
    try:
        return str(paragraph.style.name or "") if paragraph.style is not None else ""
    except (KeyError, AttributeError):
        return ""


def _list_kind(paragraph: Any) -> str:
    """ "ul", "ol" or "" for a paragraph: by list style, or by Word's numbering properties."""
    style = _style(paragraph).lower()
    if style.startswith("list number"):
        return "ol"
    if style.startswith(("list bullet", "list paragraph")):
        return "ul"
    properties = paragraph._p.pPr  # python-docx exposes numbering only on the XML element
    return "ul" if properties is not None and properties.numPr is not None else ""


def _paragraph(paragraph: Any) -> str:
    text = _text(paragraph)
    if not text:
        return ""
    style = _style(paragraph)
    if style.lower() == "title":
        return f"<h1>{text}</h1>"
    level = _HEADING_STYLE.match(style)
    if level:
        return f"<h{min(int(level.group(1)) + 1, 6)}>{text}</h{min(int(level.group(1)) + 1, 6)}>"
    if style.lower().startswith(("code", "html preformatted", "macro text")):
        return f"<pre>{html.escape(paragraph.text)}</pre>"
    return f"<p>{text}</p>"


def _text(paragraph: Any) -> str:
    return html.escape(" ".join(paragraph.text.split()))


def _table(table: Any) -> str:
    """The first row is the header, as in most Word tables; merged cells repeat their text."""
    rows = []
    for number, row in enumerate(table.rows):
        tag = "th" if number == 0 else "td"
        cells = "".join(f"<{tag}>{html.escape(' '.join(cell.text.split()))}</{tag}>" for cell in row.cells)
        rows.append(f"<tr>{cells}</tr>")
    return "<table>" + "".join(rows) + "</table>"
