"""A page from an API connector (Confluence, Notion, Google Docs): title, breadcrumbs and HTML.

Connectors render what the platform returns (storage XHTML, blocks) as plain HTML whose
headings carry the ids the platform's own page scrolls to, and wrap it with the page's
title and its place in the tree (ancestors, parent pages, folders). Parsing puts that place
in front of every section's heading path, so "Engineering > Runbooks > Failover" reaches
the chunk and the citation says where the page lives. The envelope is JSON, so its hash,
and therefore the incremental check, covers a rename or a move as well as an edit.
"""

from __future__ import annotations

import json

from bot.models import ParsedDocument, Section

__all__ = ["PAGE_MEDIA_TYPE", "page_envelope", "parse_page"]

PAGE_MEDIA_TYPE = "page"


def page_envelope(title: str, html: str, breadcrumbs: list[str] | tuple[str, ...] = ()) -> bytes:
    """The bytes a connector stores for one page (media type ``page``)."""
    return json.dumps({"title": title, "breadcrumbs": list(breadcrumbs), "html": html}, ensure_ascii=False).encode()


def parse_page(content: bytes, fallback_title: str) -> ParsedDocument:
    from indexer.parse import parse_html

    envelope = json.loads(content)
    title = str(envelope.get("title") or "").strip() or fallback_title
    breadcrumbs = tuple(str(crumb) for crumb in envelope.get("breadcrumbs", []) if str(crumb).strip())
    html = f"<html><head><title>{_escape(title)}</title></head><body><main><h1>{_escape(title)}</h1>"
    parsed = parse_html((html + str(envelope.get("html", "")) + "</main></body></html>").encode(), title)
    sections = [
        Section(heading_path=breadcrumbs + section.heading_path, anchor=section.anchor, text=section.text)
        for section in parsed.sections
    ]
    return ParsedDocument(title=title, sections=sections)


def _escape(text: str) -> str:
    import html

    return html.escape(text)
