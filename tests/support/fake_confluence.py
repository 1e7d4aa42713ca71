"""A fake Confluence (Cloud REST API v1 shape) on 127.0.0.1, for the ``confluence`` connector tests.

Shaped on ``GET /wiki/rest/api/content/search`` (CQL, ``expand``, ``limit``, and a
``_links.next`` cursor relative to the ``/wiki`` context) and ``GET /wiki/rest/api/content/{id}``
(404 for a missing or trashed page, ``status: archived`` for an archived one), and
``GET /wiki/download/attachments/{page}/{file}`` for attachments (``type = attachment``). It
understands the CQL the connector writes: ``type = page``, ``space in (...)``,
``space = "X"``, ``label = "x"`` and ``lastmodified >= "yyyy-MM-dd HH:mm"``, joined by ``and``.
Basic auth (email + API token) and Bearer personal access tokens are both accepted.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from tests.support.fake_api import FakeApi, Reply, Request, json_reply

__all__ = ["FakeConfluence", "Page", "Attachment"]

CONTEXT = "/wiki"
_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass
class Page:
    id: str
    title: str
    space: str
    body: str
    parent: str | None = None
    labels: list[str] = field(default_factory=list)
    status: str = "current"
    version: int = 1
    when: datetime = _START


@dataclass
class Attachment:
    id: str  # "att<number>"
    title: str  # the file name
    page: str  # the id of the page it is attached to
    space: str
    content: bytes
    version: int = 1
    when: datetime = _START
    status: str = "current"
    labels: list[str] = field(default_factory=list)


class FakeConfluence(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.pages: dict[str, Page] = {}
        self.attachments: dict[str, Attachment] = {}
        self.clock = _START
        self.before_bulk_read: Callable[[], None] | None = None  # runs once, before a search with bodies

    # -- what the test changes ---------------------------------------------------------
    def add(self, page: Page) -> Page:
        self.clock += timedelta(minutes=5)
        page.when = self.clock
        self.pages[page.id] = page
        return page

    def attach(self, attachment: Attachment) -> Attachment:
        self.clock += timedelta(minutes=5)
        attachment.when = self.clock
        self.attachments[attachment.id] = attachment
        return attachment

    def edit(self, page_id: str, body: str) -> None:
        self.clock += timedelta(days=3)
        page = self.pages[page_id]
        page.body, page.version, page.when = body, page.version + 1, self.clock

    def base_url(self) -> str:
        return self.url + CONTEXT

    def searches(self, with_bodies: bool | None = None) -> list[Request]:
        def match(request: Request) -> bool:
            if not request.path.endswith("/content/search"):
                return False
            return with_bodies is None or ("body.storage" in request.query.get("expand", "")) == with_bodies

        return self.requests(match)

    def page_reads(self) -> list[Request]:
        return self.requests(lambda r: re.search(r"/content/\d+$", r.path) is not None)

    # -- the API -----------------------------------------------------------------------
    def token_of(self, request: Request) -> str:
        auth = request.headers.get("authorization", "")
        if auth.startswith("Basic "):
            return base64.b64decode(auth[6:]).decode()  # "email:api-token"
        return super().token_of(request)

    def unauthorized(self, request: Request) -> Reply:
        return json_reply({"statusCode": 401, "message": "Client must be authenticated to access this resource."}, 401)

    def answer(self, request: Request) -> Reply:
        if request.path == f"{CONTEXT}/rest/api/content/search":
            return self._search(request)
        if match := re.fullmatch(rf"{CONTEXT}/download/attachments/(\d+)/(.+)", request.path):
            found = [a for a in self.attachments.values() if a.page == match.group(1) and a.title == match.group(2)]
            if not found or found[0].status != "current":
                return json_reply({"statusCode": 404, "message": "Attachment not found"}, 404)
            return Reply(200, found[0].content, "application/octet-stream")
        match = re.fullmatch(rf"{CONTEXT}/rest/api/content/(\d+)", request.path)
        if match:
            page = self.pages.get(match.group(1))
            if page is None or page.status == "trashed":
                return json_reply({"statusCode": 404, "message": "No content found with id"}, 404)
            return json_reply(self._content(page, request.query.get("expand", "")))
        return json_reply({"statusCode": 404, "message": "null for uri"}, 404)

    def _search(self, request: Request) -> Reply:
        expand = request.query.get("expand", "")
        if "body.storage" in expand and self.before_bulk_read is not None:
            hook, self.before_bulk_read = self.before_bulk_read, None
            hook()
        try:
            selected = [p for p in self._matching(request.query.get("cql", "")) if p.status == "current"]
        except ValueError as exc:
            return json_reply({"statusCode": 400, "message": f"Could not parse cql: {exc}"}, 400)
        limit = min(int(request.query.get("limit", 25)), 50 if "body" in expand else 250)  # Cloud's caps
        start = int(request.query.get("cursor", 0))
        chunk = selected[start : start + limit]
        links: dict[str, str] = {"base": self.base_url(), "context": CONTEXT}
        if start + limit < len(selected):
            query = {**request.query, "cursor": str(start + limit)}
            links["next"] = "/rest/api/content/search?" + urlencode(query)
        results = [
            self._content(item, expand) if isinstance(item, Page) else self._attachment(item, expand) for item in chunk
        ]
        return json_reply({"results": results, "start": start, "limit": limit, "size": len(chunk), "_links": links})

    def _matching(self, cql: str) -> list[Page | Attachment]:
        if re.search(r"type\s*=\s*attachment", cql, re.I):
            items: list[Page | Attachment] = sorted(self.attachments.values(), key=lambda a: a.id)
        else:
            items = sorted(self.pages.values(), key=lambda p: int(p.id))
        for clause in _clauses(cql):
            items = [item for item in items if _holds(clause, item)]
        return items

    def _attachment(self, attachment: Attachment, expand: str) -> dict[str, object]:
        page = self.pages[attachment.page]
        return {
            "id": attachment.id,
            "type": "attachment",
            "status": attachment.status,
            "title": attachment.title,
            "space": {"key": attachment.space, "name": attachment.space.title()},
            "version": {"number": attachment.version, "when": attachment.when.isoformat().replace("+00:00", ".000Z")},
            "container": {"id": page.id, "type": "page", "title": page.title},
            "extensions": {"mediaType": "application/octet-stream", "fileSize": len(attachment.content)},
            "_links": {"download": f"/download/attachments/{page.id}/{attachment.title}?version={attachment.version}"},
        }

    def _content(self, page: Page, expand: str) -> dict[str, object]:
        slug = page.title.replace(" ", "+")
        content: dict[str, object] = {
            "id": page.id,
            "type": "page",
            "status": page.status,
            "title": page.title,
            "_links": {"webui": f"/spaces/{page.space}/pages/{page.id}/{slug}", "self": f"{self.base_url()}/x"},
        }
        if "space" in expand:
            content["space"] = {"key": page.space, "name": page.space.title()}
        if "version" in expand:
            content["version"] = {"number": page.version, "when": page.when.isoformat().replace("+00:00", ".000Z")}
        if "body.storage" in expand:
            content["body"] = {"storage": {"value": page.body, "representation": "storage"}}
        if "ancestors" in expand:
            content["ancestors"] = [{"id": a.id, "title": a.title} for a in self._ancestors(page)]
        if "metadata.labels" in expand:
            content["metadata"] = {"labels": {"results": [{"prefix": "global", "name": n} for n in page.labels]}}
        return content

    def _ancestors(self, page: Page) -> list[Page]:
        chain: list[Page] = []
        parent = self.pages.get(page.parent or "")
        while parent is not None:
            chain.insert(0, parent)
            parent = self.pages.get(parent.parent or "")
        return chain


def _clauses(cql: str) -> list[str]:
    cql = cql.strip()
    while cql.startswith("(") and cql.endswith(")"):
        cql = cql[1:-1].strip()
    return [part.strip().strip("()").strip() for part in re.split(r"\s+and\s+", cql, flags=re.I) if part.strip()]


def _holds(clause: str, page: Page | Attachment) -> bool:
    if re.fullmatch(r"type\s*=\s*(page|attachment)", clause, re.I):
        return True
    if match := re.fullmatch(r"space\s+in\s+\(?(.*?)\)?", clause, re.I):
        return page.space in re.findall(r'"([^"]*)"', match.group(1))
    if match := re.fullmatch(r'space\s*=\s*"?([^"]*)"?', clause, re.I):
        return page.space == match.group(1)
    if match := re.fullmatch(r'label\s*=\s*"?([^"]*)"?', clause, re.I):
        return match.group(1) in page.labels
    if match := re.fullmatch(r'lastmodified\s*>=\s*"([^"]+)"', clause, re.I):
        return page.when >= datetime.strptime(match.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    raise ValueError(clause)
