"""One sync of a ``confluence`` source: a metadata listing, then the pages that changed.

1. The listing: every current page the filter selects, with its version, through CQL
   ``/rest/api/content/search`` and its ``_links.next`` cursor. If any page of it fails,
   the run fails and nothing is deleted. Archived and trashed pages are not current, so
   they drop out of it and are deleted.
2. The pages whose version differs from the stored one are read in bulk with CQL
   ``lastmodified >= <oldest change>``, bodies expanded; a page that query misses (deleted
   or moved since the listing) is read on its own, and a 404 deletes it.

A page that cannot be read keeps its stored version. Why httpx and not atlassian-python-api:
that library is built on requests, whose timeouts apply per socket read, so a server that
trickles bytes keeps a sync alive for ever and a shutdown cannot interrupt a call; the
connectors share the crawler's transport instead (deadlines, a stop, the address guard).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.store import DocumentState
from indexer.formats.page import PAGE_MEDIA_TYPE, page_envelope
from indexer.sources.api.config import env_value, secret_env_value
from indexer.sources.api.http import ApiClient, ApiError, AuthFailed, Budget
from indexer.sources.api.incremental import is_current, keep
from indexer.sources.base import Listing, SourceError
from indexer.sources.confluence.config import ConfluenceSource
from indexer.sources.confluence.storage import storage_to_html

__all__ = ["list_confluence", "page_filter"]

_SEARCH = "/rest/api/content/search"
_FULL_EXPAND = "body.storage,version,ancestors,metadata.labels,space"


class _AuthRefused(SourceError):
    """Confluence refused the credentials or the permission: every further call would fail too."""


@dataclass(frozen=True)
class _Meta:
    id: str
    title: str
    version: str  # "v<number>", stored as the document's etag
    when: str  # ISO time of the last edit
    space: str


def list_confluence(
    source: ConfluenceSource,
    user_agent: str,
    max_file_bytes: int,
    known: Mapping[str, DocumentState],
    stop: threading.Event | None = None,
) -> Listing:
    headers, auth, names = _credentials(source)
    client = ApiClient(
        source.base_url,
        headers,
        Budget(stop, source.run_deadline_s),
        timeout_s=source.timeout_s,
        retries=source.retries,
        user_agent=user_agent,
        auth=auth,
    )
    try:
        return _Sync(source, client, known, source.max_bytes or max_file_bytes, names).run()
    finally:
        client.close()


def page_filter(source: ConfluenceSource) -> str:
    """The CQL that selects the source's pages (without the lastmodified clause)."""
    clauses = ["type = page"]
    if source.spaces:
        keys = ",".join('"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"' for key in source.spaces)
        clauses.append(f"space in ({keys})")
    if source.cql and source.cql.strip():
        clauses.append(f"({source.cql.strip()})")
    return " and ".join(clauses)


def _credentials(source: ConfluenceSource) -> tuple[dict[str, str], httpx.Auth | None, str]:
    """Headers or basic auth from the environment, and the variable names for messages."""
    token = secret_env_value(source.pat_env)
    if token:
        return {"Authorization": f"Bearer {token}"}, None, source.pat_env
    email, api_token = env_value(source.email_env), secret_env_value(source.token_env)
    if email and api_token:
        return {}, httpx.BasicAuth(email, api_token), f"{source.email_env} and {source.token_env}"
    raise SourceError(
        f"source {source.name!r}: no Confluence credentials in the environment: set {source.email_env} and "
        f"{source.token_env} (Cloud) or {source.pat_env} (Data Center); nothing was changed"
    )


class _Sync:
    def __init__(
        self,
        source: ConfluenceSource,
        client: ApiClient,
        known: Mapping[str, DocumentState],
        max_bytes: int,
        credential_names: str,
    ) -> None:
        self.source = source
        self.client = client
        self.known = known
        self.max_bytes = max_bytes
        self.credential_names = credential_names
        self.listing = Listing()

    def run(self) -> Listing:
        changed: dict[str, _Meta] = {}
        for meta in self._list():
            doc_id = self._doc_id(meta.id)
            if doc_id in self.listing.present:
                continue  # a page listed twice (an edit while paging): once is enough
            if is_current(self.known, doc_id, meta.version, self.source.sets_for(meta.space)):
                keep(self.listing, doc_id)
            else:
                self.listing.present.add(doc_id)
                changed[meta.id] = meta
        if changed:
            self._read(changed)
        if self.source.attachments:
            self._attachments()
        return self.listing

    def _attachments(self) -> None:
        from indexer.sources.confluence.attachments import read_attachments

        def search(params: dict[str, Any]) -> list[dict[str, Any]]:
            return self._search(params, listing=True)

        read_attachments(self.source, self.client, search, self.known, self.listing, self.max_bytes, self._auth_error)

    # -- the listing -------------------------------------------------------------------
    def _list(self) -> list[_Meta]:
        found: list[_Meta] = []
        params = {"cql": page_filter(self.source), "limit": self.source.page_size, "expand": "version,space"}
        for result in self._search(params, listing=True):
            version = result.get("version") or {}
            found.append(
                _Meta(
                    id=str(result["id"]),
                    title=str(result.get("title", "")),
                    version=f"v{version.get('number', 0)}",
                    when=str(version.get("when", "")),
                    space=str((result.get("space") or {}).get("key", "")),
                )
            )
        return found

    def _search(self, params: dict[str, Any], listing: bool) -> list[dict[str, Any]]:
        """Every result of a CQL search, following ``_links.next``; SourceError if a page of it fails."""
        results: list[dict[str, Any]] = []
        url: str | None = _SEARCH
        query: dict[str, Any] | None = params
        while url:
            data = self._call(url, query, what="list the pages" if listing else "read the changed pages")
            results += [r for r in data.get("results", []) if isinstance(r, dict) and r.get("id")]
            url, query = self._next(data), None
        return results

    def _next(self, data: dict[str, Any]) -> str | None:
        """The next page of results; Cloud and Data Center give it relative to the context path."""
        link = (data.get("_links") or {}).get("next")
        if not link:
            return None
        context = urlsplit(self.source.base_url).path.rstrip("/")
        if context and link.startswith(context + "/"):
            parts = urlsplit(self.source.base_url)
            return f"{parts.scheme}://{parts.netloc}{link}"
        return str(link)

    def _call(self, url: str, params: dict[str, Any] | None, what: str) -> dict[str, Any]:
        try:
            data = self.client.get_json(url, params)
        except AuthFailed as exc:
            raise self._auth_error(exc) from None
        except ApiError as exc:
            raise SourceError(
                f"source {self.source.name!r}: cannot {what} ({exc}); Confluence may be down; nothing was changed"
            ) from None
        if not isinstance(data, dict):
            raise SourceError(f"source {self.source.name!r}: cannot {what}: unexpected answer; nothing was changed")
        return data

    def _auth_error(self, exc: AuthFailed) -> _AuthRefused:
        if exc.status == 403:
            why = "has no permission (HTTP 403): give the account read access to the spaces"
        else:
            why = f"refused the credentials (HTTP 401): check {self.credential_names} (an expired or revoked token?)"
        return _AuthRefused(f"source {self.source.name!r}: Confluence {why}; nothing was changed")

    # -- the pages that changed --------------------------------------------------------
    def _read(self, changed: dict[str, _Meta]) -> None:
        since = _cql_date(min(meta.when for meta in changed.values()))
        params = {
            "cql": f"{page_filter(self.source)}" + (f' and lastmodified >= "{since}"' if since else ""),
            "limit": self.source.page_size,
            "expand": _FULL_EXPAND,
        }
        try:
            bodies = {str(r["id"]): r for r in self._search(params, listing=False) if str(r["id"]) in changed}
        except _AuthRefused:
            raise
        except SourceError:
            bodies = {}  # the bulk read failed: each page is read on its own below
        for page_id, meta in changed.items():
            page = bodies.get(page_id) or self._read_one(meta)
            if page is not None:
                self._add(meta, page)

    def _read_one(self, meta: _Meta) -> dict[str, Any] | None:
        doc_id = self._doc_id(meta.id)
        try:
            page = self.client.get_json(f"/rest/api/content/{meta.id}", {"expand": _FULL_EXPAND})
        except AuthFailed as exc:
            raise self._auth_error(exc) from None
        except ApiError as exc:
            if exc.status == 404:  # deleted (or trashed) since the listing
                self.listing.gone.add(doc_id)
            else:
                self.listing.fail(doc_id, f"{meta.space}/{meta.title}: {exc}")
            return None
        if not isinstance(page, dict) or page.get("status", "current") != "current":
            self.listing.gone.add(doc_id)  # archived or trashed since the listing
            return None
        return page

    def _add(self, meta: _Meta, page: dict[str, Any]) -> None:
        doc_id = self._doc_id(meta.id)
        title = str(page.get("title") or meta.title)
        storage = str(((page.get("body") or {}).get("storage") or {}).get("value") or "")
        path = f"{meta.space}/{title}"
        size = len(storage.encode())
        if size > self.max_bytes:
            self.listing.fail(doc_id, f"{path}: skipped: {size} bytes is over max_bytes = {self.max_bytes}")
            return
        ancestors = [str(a.get("title", "")) for a in page.get("ancestors") or [] if isinstance(a, dict)]
        labels = [
            str(label.get("name", ""))
            for label in ((page.get("metadata") or {}).get("labels") or {}).get("results", [])
            if isinstance(label, dict)
        ]
        html = (f"<p>Labels: {', '.join(labels)}</p>" if labels else "") + storage_to_html(storage, title)
        webui = str((page.get("_links") or {}).get("webui") or f"/pages/viewpage.action?pageId={meta.id}")
        version = page.get("version") or {}
        self.listing.add(
            doc_id,
            self.source.name,
            self.source.sets_for(meta.space),
            path,
            self.source.base_url + webui,
            page_envelope(title, html, ancestors),
            PAGE_MEDIA_TYPE,
            etag=f"v{version.get('number', 0)}" if version else meta.version,
            last_modified=str(version.get("when", meta.when)),
        )

    def _doc_id(self, page_id: str) -> str:
        return f"{self.source.name}:{page_id}"


def _cql_date(when: str) -> str:
    """CQL's "yyyy-MM-dd HH:mm", a day early: CQL reads it in the account's time zone."""
    try:
        moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        return ""  # no usable edit time: read every page of the filter
    return (moment - timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
