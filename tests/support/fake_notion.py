"""A fake Notion API (version 2025-09-03, as notion-client 2.7 speaks it) on 127.0.0.1.

Shaped on the API reference: ``GET /v1/pages/{id}``, ``GET /v1/blocks/{id}/children``,
``POST /v1/search`` (pages, newest edit first) and ``POST /v1/data_sources/{id}/query`` page
by ``start_cursor``/``next_cursor``/``has_more``
(at most ``page_size``, 100); ``GET /v1/databases/{id}`` lists the database's data sources.
Errors are ``{"object": "error", "status", "code", "message"}``: 401 ``unauthorized``, 404
``object_not_found`` (also for pages not shared with the integration), 429 ``rate_limited``.
Adding a child page edits its parent, as in Notion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.fake_api import FakeApi, Reply, Request, json_reply

__all__ = ["FakeNotion", "uid", "text_block", "heading", "bullet", "todo", "code", "table", "callout", "toggle"]

_START = datetime(2026, 2, 2, 10, 0, tzinfo=UTC)
_ERROR_CODES = {401: "unauthorized", 404: "object_not_found", 429: "rate_limited", 500: "internal_server_error"}


def uid(number: int) -> str:
    return f"{number:08x}-0000-4000-8000-{number:012x}"


def _rich(text: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": {"content": text}, "plain_text": text}]


_block_numbers = iter(range(1_000_000, 10_000_000))


def _block(kind: str, data: dict[str, Any], children: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"object": "block", "id": uid(next(_block_numbers)), "type": kind, kind: data, "_children": children or []}


def text_block(text: str) -> dict[str, Any]:
    return _block("paragraph", {"rich_text": _rich(text)})


def heading(level: int, text: str) -> dict[str, Any]:
    return _block(f"heading_{level}", {"rich_text": _rich(text)})


def bullet(text: str, numbered: bool = False) -> dict[str, Any]:
    kind = "numbered_list_item" if numbered else "bulleted_list_item"
    return _block(kind, {"rich_text": _rich(text)})


def todo(text: str, checked: bool) -> dict[str, Any]:
    return _block("to_do", {"rich_text": _rich(text), "checked": checked})


def code(text: str, language: str = "bash") -> dict[str, Any]:
    return _block("code", {"rich_text": _rich(text), "language": language})


def table(rows: list[list[str]]) -> dict[str, Any]:
    cells = [_block("table_row", {"cells": [_rich(cell) for cell in row]}) for row in rows]
    return _block("table", {"table_width": len(rows[0]), "has_column_header": True, "has_row_header": False}, cells)


def callout(text: str, emoji: str, children: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return _block("callout", {"rich_text": _rich(text), "icon": {"type": "emoji", "emoji": emoji}}, children)


def toggle(text: str, children: list[dict[str, Any]]) -> dict[str, Any]:
    return _block("toggle", {"rich_text": _rich(text)}, children)


@dataclass
class NotionPage:
    id: str
    title: str
    blocks: list[dict[str, Any]]
    parent: dict[str, Any]
    properties: dict[str, Any] = field(default_factory=dict)  # besides the title (database rows)
    edited: datetime = _START
    in_trash: bool = False


@dataclass
class NotionDatabase:
    id: str
    title: str
    source_id: str
    rows: list[str] = field(default_factory=list)


class FakeNotion(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.pages: dict[str, NotionPage] = {}
        self.databases: dict[str, NotionDatabase] = {}
        self.clock = _START

    # -- what the test changes ---------------------------------------------------------
    def tick(self) -> datetime:
        self.clock += timedelta(minutes=7)
        return self.clock

    def add_page(self, number: int, title: str, blocks: list[dict[str, Any]], parent: str | None = None) -> str:
        page_id = uid(number)
        where = {"type": "page_id", "page_id": parent} if parent else {"type": "workspace", "workspace": True}
        self.pages[page_id] = NotionPage(page_id, title, blocks, where, edited=self.tick())
        if parent:
            self.pages[parent].blocks.append(_block("child_page", {"title": title}) | {"id": page_id})
            self.pages[parent].edited = self.tick()
        return page_id

    def add_database(self, number: int, title: str, parent: str) -> str:
        database_id = uid(number)
        self.databases[database_id] = NotionDatabase(database_id, title, uid(number + 500_000))
        self.pages[parent].blocks.append(_block("child_database", {"title": title}) | {"id": database_id})
        self.pages[parent].edited = self.tick()
        return database_id

    def add_row(self, database_id: str, number: int, title: str, properties: dict[str, Any], body: list[Any]) -> str:
        row_id = uid(number)
        parent = {"type": "data_source_id", "data_source_id": self.databases[database_id].source_id}
        self.pages[row_id] = NotionPage(row_id, title, body, parent, properties, edited=self.tick())
        self.databases[database_id].rows.append(row_id)
        return row_id

    def edit(self, page_id: str, blocks: list[dict[str, Any]]) -> None:
        page = self.pages[page_id]
        kept = [b for b in page.blocks if b["type"] in ("child_page", "child_database")]
        page.blocks, page.edited = blocks + kept, self.tick()

    def trash(self, page_id: str) -> None:
        self.pages[page_id].in_trash = True  # trashing a page leaves its parent's edit time alone in our model
        parent = self.pages[page_id].parent.get("page_id")
        if parent:
            self.pages[parent].blocks = [b for b in self.pages[parent].blocks if b["id"] != page_id]
            self.pages[parent].edited = self.tick()

    def block_reads(self) -> list[Request]:
        return self.requests(lambda r: r.path.endswith("/children"))

    # -- the API -----------------------------------------------------------------------
    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
        code = _ERROR_CODES.get(status, "service_unavailable")
        body = {"object": "error", "status": status, "code": code, "message": message, "request_id": "req-1"}
        return json_reply(body, status, headers)

    def unauthorized(self, request: Request) -> Reply:
        return self.error(401, "API token is invalid.")

    def answer(self, request: Request) -> Reply:
        if request.headers.get("notion-version") != "2025-09-03":
            return self.error(400, "missing or unsupported Notion-Version")
        if match := re.fullmatch(r"/v1/pages/([0-9a-f-]{36})", request.path):
            page = self.pages.get(match.group(1))
            return json_reply(self._page(page)) if page else self.error(404, "Could not find page")
        if match := re.fullmatch(r"/v1/blocks/([0-9a-f-]{36})/children", request.path):
            children = self._children_of(match.group(1))
            if children is None:
                return self.error(404, "Could not find block")
            return self._paginate(children, request.query, "block")
        if match := re.fullmatch(r"/v1/databases/([0-9a-f-]{36})", request.path):
            database = self.databases.get(match.group(1))
            if database is None:
                return self.error(404, "Could not find database")
            return json_reply(
                {
                    "object": "database",
                    "id": database.id,
                    "title": _rich(database.title),
                    "data_sources": [{"id": database.source_id, "name": database.title}],
                    "in_trash": False,
                }
            )
        if request.path == "/v1/search" and request.method == "POST":
            body = request.json()
            if (body.get("filter") or {}).get("value") != "page":
                return self.error(400, "this fake searches pages only")
            found = sorted((p for p in self.pages.values() if not p.in_trash), key=lambda p: p.edited, reverse=True)
            return self._paginate([self._page(p) for p in found], body, "page_or_data_source")
        if match := re.fullmatch(r"/v1/data_sources/([0-9a-f-]{36})/query", request.path):
            database = next((d for d in self.databases.values() if d.source_id == match.group(1)), None)
            if database is None or request.method != "POST":
                return self.error(404, "Could not find data source")
            rows = [self._page(self.pages[r]) for r in database.rows if not self.pages[r].in_trash]
            return self._paginate(rows, request.json(), "page_or_data_source")
        return self.error(404, "Invalid request URL.")

    def _children_of(self, block_id: str) -> list[dict[str, Any]] | None:
        page = self.pages.get(block_id)
        if page is not None:
            return [self._public(b) for b in page.blocks]
        for block in self._all_blocks():
            if block["id"] == block_id and block["type"] not in ("child_page", "child_database"):
                return [self._public(b) for b in block["_children"]]
        return None

    def _all_blocks(self) -> list[dict[str, Any]]:
        found, stack = [], [b for page in self.pages.values() for b in page.blocks]
        while stack:
            block = stack.pop()
            found.append(block)
            stack += block["_children"]
        return found

    def _public(self, block: dict[str, Any]) -> dict[str, Any]:
        public = {k: v for k, v in block.items() if k != "_children"}
        public["has_children"] = bool(block["_children"]) or block["type"] in ("child_page", "child_database")
        return public

    def _page(self, page: NotionPage) -> dict[str, Any]:
        slug = re.sub(r"\W+", "-", page.title).strip("-")
        return {
            "object": "page",
            "id": page.id,
            "created_time": _START.isoformat().replace("+00:00", ".000Z"),
            "last_edited_time": page.edited.isoformat().replace("+00:00", ".000Z"),
            "in_trash": page.in_trash,
            "archived": page.in_trash,
            "parent": page.parent,
            "url": f"https://www.notion.so/{slug}-{page.id.replace('-', '')}",
            "properties": {"Name": {"id": "title", "type": "title", "title": _rich(page.title)}, **page.properties},
        }

    def _paginate(self, items: list[dict[str, Any]], query: dict[str, Any], kind: str) -> Reply:
        size = min(int(query.get("page_size", 100)), 100)
        start = 0
        if query.get("start_cursor"):
            ids = [item["id"] for item in items]
            if query["start_cursor"] not in ids:
                return self.error(400, "start_cursor is not valid")
            start = ids.index(query["start_cursor"])
        chunk = items[start : start + size]
        more = start + size < len(items)
        return json_reply(
            {
                "object": "list",
                "results": chunk,
                "next_cursor": items[start + size]["id"] if more else None,
                "has_more": more,
                "type": kind,
                kind: {},
            }
        )
