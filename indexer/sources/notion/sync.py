"""One sync of a ``notion`` source: walk the page tree and the databases, read what changed.

Every page's ``last_edited_time`` comes from ``POST /v1/search`` (100 pages a call); a page
it shows unchanged costs nothing more, others get ``GET /v1/pages/{id}`` and, if changed,
their blocks. A database's rows come with their metadata and properties from the query.
Adding or removing a child page edits the parent, so an unchanged page's child pages are
the ones it had: they are kept in a small state file under the data dir and visited again
without reading the parent's blocks.

Deletions: a page that is in the trash or answers 404 is deleted; any page the walk no longer
reaches is deleted only if the walk was complete (a root page, a database query or a
parent's blocks that could not be read leave the listing incomplete). The pace is
``requests_per_second`` (Notion allows 3 on average), and 429s are retried after their
``Retry-After`` by the shared transport under notion-client.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from bot.store import DocumentState
from indexer.formats import require
from indexer.formats.page import PAGE_MEDIA_TYPE, page_envelope
from indexer.sources.api.config import secret_env_value
from indexer.sources.api.http import ApiError, AuthFailed, Budget, RetryTransport
from indexer.sources.api.incremental import is_current, keep
from indexer.sources.base import Listing, SourceError
from indexer.sources.notion.calls import call, paged
from indexer.sources.notion.config import NotionSource
from indexer.sources.notion.render import Block, page_title, plain, render_blocks, render_properties
from indexer.sources.notion.state import Node, load_state, save_state

__all__ = ["list_notion"]

_NO_DESCENT = ("child_page", "child_database")  # documents of their own, not content


def list_notion(
    source: NotionSource,
    user_agent: str,
    data_dir: Path,
    max_file_bytes: int,
    known: Mapping[str, DocumentState],
    stop: threading.Event | None = None,
) -> Listing:
    notion_client = require("notion_client", "notion", f"source {source.name!r} (type notion)")
    token = secret_env_value(source.token_env)
    if not token:
        raise SourceError(
            f"source {source.name!r}: no Notion token in the environment: set {source.token_env} to the "
            "integration's secret; nothing was changed"
        )
    transport = RetryTransport(
        Budget(stop, source.run_deadline_s), source.timeout_s, source.retries, 1 / source.requests_per_second
    )
    http = httpx.Client(transport=transport, headers={"User-Agent": user_agent})
    client = notion_client.Client(
        auth=token, base_url=source.base_url, timeout_ms=int(source.timeout_s * 1000), client=http
    )
    try:
        return _Walk(source, client, data_dir / "notion" / f"{source.name}.json", known, max_file_bytes).run()
    finally:
        http.close()


class _Walk:
    def __init__(
        self, source: NotionSource, client: Any, state_path: Path, known: Mapping[str, DocumentState], max_bytes: int
    ) -> None:
        self.source = source
        self.client = client
        self.state_path = state_path
        self.known = known
        self.max_bytes = source.max_bytes or max_bytes
        self.previous = load_state(state_path)
        self.current: dict[str, Node] = {}
        self.listing = Listing()
        self.seen: set[str] = set()
        self.queue: deque[tuple[str, str, list[str], int]] = deque()  # (kind, id, breadcrumbs, depth)

    def run(self) -> Listing:
        self.edit_times = self._edit_times()
        self.queue.extend(("page", page_id, [], 0) for page_id in self.source.root_pages)
        self.queue.extend(("database", db_id, [], 0) for db_id in self.source.databases)
        while self.queue:
            kind, object_id, crumbs, depth = self.queue.popleft()
            if object_id in self.seen:
                continue
            self.seen.add(object_id)
            if kind == "page":
                self._page(object_id, crumbs, depth)
            else:
                self._database(object_id, crumbs, depth)
        save_state(self.state_path, self.current)
        return self.listing

    # -- calls -------------------------------------------------------------------------
    def _auth_error(self, exc: AuthFailed) -> SourceError:
        if exc.status == 403:
            why = "the integration lacks a capability (HTTP 403): give it `Read content`"
        else:
            why = f"Notion refused the token (HTTP 401): check {self.source.token_env} (revoked or mistyped?)"
        return SourceError(f"source {self.source.name!r}: {why}; nothing was changed")

    def _edit_times(self) -> dict[str, str]:
        """``last_edited_time`` of every page shared with the integration, 100 a call (``POST /v1/search``).

        An unchanged page found here costs no call of its own. Search may lag behind an edit or
        miss a page: such a page is simply read with ``GET /v1/pages``, so this only saves calls."""
        try:
            pages = paged(
                self.client.search,
                filter={"property": "object", "value": "page"},
                sort={"direction": "descending", "timestamp": "last_edited_time"},
            )
        except AuthFailed as exc:
            raise self._auth_error(exc) from None
        except ApiError:
            return {}
        return {str(p["id"]): str(p.get("last_edited_time", "")) for p in pages if not p.get("in_trash")}

    # -- pages -------------------------------------------------------------------------
    def _page(self, page_id: str, crumbs: list[str], depth: int, row: dict[str, Any] | None = None) -> None:
        doc_id = f"{self.source.name}:{page_id}"
        root = depth == 0 and row is None
        old = self.previous.get(page_id)
        edited = self.edit_times.get(page_id, "")
        if not root and row is None and old is not None and is_current(self.known, doc_id, edited, self.source.sets):
            keep(self.listing, doc_id)  # search says it is unchanged: no call for it
            self.current[page_id] = old
            self._descend(old, crumbs + [old.title], depth)
            return
        try:
            meta = row or call(self.client.pages.retrieve, page_id=page_id)
        except AuthFailed as exc:
            raise self._auth_error(exc) from None
        except ApiError as exc:
            self._unreadable(doc_id, page_id, crumbs, depth, exc, root, "page")
            return
        if meta.get("in_trash") or meta.get("archived"):
            if root:
                raise SourceError(
                    f"source {self.source.name!r}: root page {page_id} is in Notion's trash; restore it or remove "
                    "it from root_pages; nothing was changed"
                )
            self.listing.gone.add(doc_id)
            return
        title = page_title(meta) or "Untitled"
        version = str(meta.get("last_edited_time", ""))
        node: Node | None
        if old is not None and is_current(self.known, doc_id, version, self.source.sets):
            keep(self.listing, doc_id)
            node = Node(title, old.children, old.databases)
        else:
            node = self._read(doc_id, page_id, meta, title, crumbs, version, row is not None)
            if node is None:
                return
        self.current[page_id] = node
        self._descend(node, crumbs + [title], depth)

    def _read(
        self, doc_id: str, page_id: str, meta: dict[str, Any], title: str, crumbs: list[str], version: str, is_row: bool
    ) -> Node | None:
        self.listing.present.add(doc_id)
        try:
            blocks = self._blocks(page_id)
        except AuthFailed as exc:
            raise self._auth_error(exc) from None
        except ApiError as exc:
            if exc.status == 404:  # deleted between the listing and the read
                self.listing.gone.add(doc_id)
                self.listing.present.discard(doc_id)
                return None
            self.listing.fail(doc_id, f"{'/'.join(crumbs + [title])}: {exc}")
            old = self.previous.get(page_id)
            return old if old is not None else Node(title)  # walk on to the children we knew
        except _TooLong as exc:
            self.listing.fail(doc_id, f"{'/'.join(crumbs + [title])}: skipped: {exc}")
            return Node(title)
        node = Node(
            title,
            [str(b["id"]) for b in blocks if b.get("type") == "child_page"],
            [str(b["id"]) for b in blocks if b.get("type") == "child_database"],
        )
        html = (render_properties(meta) if is_row else "") + render_blocks(blocks)
        if not re.sub(r"<[^>]*>", "", html).strip():  # a title over child pages: nothing to index, nothing wrong
            self.listing.present.discard(doc_id)
            self.listing.gone.add(doc_id)
            return node
        content = page_envelope(title, html, crumbs)
        if len(content) > self.max_bytes:
            self.listing.fail(doc_id, f"{'/'.join(crumbs + [title])}: skipped: {len(content)} bytes is over max_bytes")
            return node
        self.listing.add(
            doc_id,
            self.source.name,
            self.source.sets,
            "/".join(crumbs + [title]),
            str(meta.get("url") or f"https://www.notion.so/{page_id.replace('-', '')}"),
            content,
            PAGE_MEDIA_TYPE,
            etag=version,
            last_modified=version,
        )
        return node

    def _blocks(self, block_id: str, depth: int = 0, budget: list[int] | None = None) -> list[Block]:
        """A block's children, their own children fetched under "children" (child pages excepted)."""
        budget = budget if budget is not None else [self.source.max_blocks]
        blocks = paged(self.client.blocks.children.list, block_id=block_id)
        budget[0] -= len(blocks)
        if budget[0] < 0:
            raise _TooLong(f"more than max_blocks = {self.source.max_blocks} blocks")
        for block in blocks:
            if block.get("has_children") and block.get("type") not in _NO_DESCENT and depth < 8:
                block["children"] = self._blocks(str(block["id"]), depth + 1, budget)
        return blocks

    def _descend(self, node: Node, crumbs: list[str], depth: int) -> None:
        if depth >= self.source.max_depth:
            return
        self.queue.extend(("page", child, crumbs, depth + 1) for child in node.children)
        self.queue.extend(("database", db, crumbs, depth + 1) for db in node.databases)

    def _unreadable(
        self, doc_id: str, object_id: str, crumbs: list[str], depth: int, exc: ApiError, root: bool, kind: str
    ) -> None:
        """A page or database that could not be read: 404 is gone, anything else keeps what we had."""
        if root:
            hint = "not found or not shared with the integration" if exc.status == 404 else str(exc)
            raise SourceError(
                f"source {self.source.name!r}: cannot read root {kind} {object_id} ({hint}); nothing was changed"
            )
        if exc.status == 404:
            self.listing.gone.add(doc_id)
            return
        self.listing.complete = False  # what it holds is unknown this time: delete nothing
        self.listing.fail(doc_id, f"{kind} {object_id}: {exc}")
        old = self.previous.get(object_id)
        if old is not None:
            self.current[object_id] = old
            self._descend(old, crumbs + [old.title], depth)

    # -- databases ---------------------------------------------------------------------
    def _database(self, database_id: str, crumbs: list[str], depth: int) -> None:
        try:
            database = call(self.client.databases.retrieve, database_id=database_id)
            title = plain(database.get("title")).strip() or "Untitled database"
            rows: list[dict[str, Any]] = []
            for data_source in database.get("data_sources") or []:
                rows += paged(self.client.data_sources.query, data_source_id=str(data_source["id"]))
        except AuthFailed as exc:
            raise self._auth_error(exc) from None
        except ApiError as exc:
            doc_id = f"{self.source.name}:{database_id}"
            self._unreadable(doc_id, database_id, crumbs, depth, exc, depth == 0, "database")
            return
        self.current[database_id] = Node(title)
        for row in rows:
            if str(row.get("id")) not in self.seen:
                self.seen.add(str(row["id"]))
                self._page(str(row["id"]), crumbs + [title], depth + 1, row=row)


class _TooLong(Exception):
    """A page with more blocks than max_blocks."""
