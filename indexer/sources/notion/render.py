"""Notion blocks and database properties -> plain HTML for the page parser.

Headings become ``<h2>``-``<h4>`` (the page title is the ``<h1>``) with the block id as their
id, which is the fragment Notion's own links scroll to. Lists, to-dos, code, tables,
callouts, toggles and quotes keep their shape; child pages and databases are documents
of their own and leave no trace here, so adding one does not change the parent's text.
"""

from __future__ import annotations

import html
from typing import Any

__all__ = ["Block", "plain", "render_blocks", "render_properties", "page_title"]

# A block as the API returns it, with its fetched children under "children".
Block = dict[str, Any]

_HEADINGS = {"heading_1": "h2", "heading_2": "h3", "heading_3": "h4"}
_LISTS = {"bulleted_list_item": "ul", "numbered_list_item": "ol", "to_do": "ul"}


def plain(rich_text: list[dict[str, Any]] | None) -> str:
    return "".join(str(part.get("plain_text", "")) for part in rich_text or [])


def page_title(page: dict[str, Any]) -> str:
    for prop in (page.get("properties") or {}).values():
        if isinstance(prop, dict) and prop.get("type") == "title":
            return plain(prop.get("title")).strip()
    return ""


def render_blocks(blocks: list[Block]) -> str:
    parts: list[str] = []
    open_list = ""
    for block in blocks:
        kind = str(block.get("type", ""))
        wanted = _LISTS.get(kind, "")
        if open_list and wanted != open_list:
            parts.append(f"</{open_list}>")
            open_list = ""
        if wanted and not open_list:
            parts.append(f"<{wanted}>")
            open_list = wanted
        parts.append(_block(block, kind))
    if open_list:
        parts.append(f"</{open_list}>")
    return "".join(parts)


def _text(block: Block, kind: str) -> str:
    return html.escape(plain((block.get(kind) or {}).get("rich_text")))


def _block(block: Block, kind: str) -> str:
    children = render_blocks(block.get("children") or [])
    data = block.get(kind) or {}
    if kind in _HEADINGS:
        tag = _HEADINGS[kind]
        anchor = str(block.get("id", "")).replace("-", "")
        return f'<{tag} id="{anchor}">{_text(block, kind)}</{tag}>{children}'
    if kind in ("bulleted_list_item", "numbered_list_item"):
        return f"<li>{_text(block, kind)}{children}</li>"
    if kind == "to_do":
        mark = "[x]" if data.get("checked") else "[ ]"
        return f"<li>{mark} {_text(block, kind)}{children}</li>"
    if kind == "code":
        return f"<pre>{html.escape(plain(data.get('rich_text')))}</pre>"
    if kind == "table":
        return _table(block)
    if kind == "callout":
        icon = (data.get("icon") or {}).get("emoji", "")
        lead = f"{icon} " if icon else ""
        return f"<div><p>{html.escape(lead)}{_text(block, kind)}</p>{children}</div>"
    if kind == "quote":
        return f"<blockquote>{_text(block, kind)}{children}</blockquote>"
    if kind == "toggle":
        return f"<div><p>{_text(block, kind)}</p>{children}</div>"
    if kind in ("paragraph", "template"):
        return f"<p>{_text(block, kind)}</p>{children}"
    return children  # columns, synced blocks: their content; media, dividers, embeds: nothing


def _table(block: Block) -> str:
    header = bool((block.get("table") or {}).get("has_column_header"))
    rows = []
    for number, row in enumerate(block.get("children") or []):
        cells = (row.get("table_row") or {}).get("cells") or []
        tag = "th" if header and number == 0 else "td"
        rows.append("<tr>" + "".join(f"<{tag}>{html.escape(plain(cell))}</{tag}>" for cell in cells) + "</tr>")
    return "<table>" + "".join(rows) + "</table>"


def render_properties(page: dict[str, Any]) -> str:
    """A database row's properties (all but the title) as a list of ``Name: value`` lines."""
    lines = []
    for name, prop in (page.get("properties") or {}).items():
        if not isinstance(prop, dict) or prop.get("type") == "title":
            continue
        value = _property_value(prop)
        if value:
            lines.append(f"<li>{html.escape(name)}: {html.escape(value)}</li>")
    return "<ul>" + "".join(lines) + "</ul>" if lines else ""


def _property_value(prop: dict[str, Any]) -> str:
    kind = str(prop.get("type", ""))
    value = prop.get(kind)
    if value is None:
        return ""
    if kind == "rich_text":
        return plain(value)
    if kind in ("select", "status"):
        return str(value.get("name", ""))
    if kind == "multi_select":
        return ", ".join(str(option.get("name", "")) for option in value)
    if kind == "date":
        start, end = value.get("start") or "", value.get("end") or ""
        return f"{start} to {end}" if end else str(start)
    if kind == "checkbox":
        return "yes" if value else "no"
    if kind == "people":
        return ", ".join(str(person.get("name", "")) for person in value if person.get("name"))
    if kind == "formula":
        return str(value.get(value.get("type", ""), "") or "")
    if kind in ("number", "url", "email", "phone_number", "created_time", "last_edited_time"):
        return str(value)
    return ""  # relations, rollups, files: ids and links that read as noise
