"""PDF and Word attachments of a ``confluence`` source's pages (``attachments = true``).

Attachments are content too: one CQL search (``type = attachment`` in the source's spaces)
lists them with their versions, 50 a call, so an unchanged attachment costs a line of that
listing. A changed one is downloaded (``_links.download``) and read by indexer/formats;
its citation is the download link, so a PDF opens at the cited page (``#page=N``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.store import DocumentState
from indexer.sources.api.http import ApiClient, ApiError, AuthFailed
from indexer.sources.api.incremental import is_current, keep
from indexer.sources.base import Listing
from indexer.sources.confluence.config import ConfluenceSource

__all__ = ["attachment_filter", "read_attachments"]

_TYPES = {".pdf": "pdf", ".docx": "docx"}

Search = Callable[[dict[str, Any]], list[dict[str, Any]]]


def attachment_filter(source: ConfluenceSource) -> str:
    """The attachments of the source's spaces (a ``cql`` filter selects pages, so it is not applied)."""
    keys = ",".join('"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"' for key in source.spaces)
    return "type = attachment" + (f" and space in ({keys})" if keys else "")


def read_attachments(
    source: ConfluenceSource,
    client: ApiClient,
    search: Search,
    known: Mapping[str, DocumentState],
    listing: Listing,
    max_bytes: int,
    on_auth: Callable[[AuthFailed], Exception],
) -> None:
    params = {"cql": attachment_filter(source), "limit": source.page_size, "expand": "version,space,container"}
    for item in search(params):  # SourceError if the listing fails: nothing is deleted
        title = str(item.get("title", ""))
        media_type = _TYPES.get(title[title.rfind(".") :].lower()) if "." in title else None
        if media_type is None:
            continue
        space = str((item.get("space") or {}).get("key", ""))
        sets = source.sets_for(space)
        doc_id = f"{source.name}:attachment:{item['id']}"
        version = f"v{(item.get('version') or {}).get('number', 0)}"
        if is_current(known, doc_id, version, sets):
            keep(listing, doc_id)
            continue
        listing.present.add(doc_id)
        page = str((item.get("container") or {}).get("title", ""))
        path = f"{space}/{page}/{title}"
        size = int((item.get("extensions") or {}).get("fileSize") or 0)
        if size > max_bytes:
            listing.fail(doc_id, f"{path}: skipped: {size} bytes is over max_bytes = {max_bytes}")
            continue
        download = str((item.get("_links") or {}).get("download", ""))
        try:
            content = client.request("GET", download).content
        except AuthFailed as exc:
            raise on_auth(exc) from None
        except ApiError as exc:
            if exc.status == 404:
                listing.present.discard(doc_id)
                listing.gone.add(doc_id)
            else:
                listing.fail(doc_id, f"{path}: {exc}")
            continue
        if len(content) > max_bytes:
            listing.fail(doc_id, f"{path}: skipped: {len(content)} bytes is over max_bytes = {max_bytes}")
            continue
        when = str((item.get("version") or {}).get("when", ""))
        url = source.base_url + download.split("?", 1)[0]
        listing.add(doc_id, source.name, sets, path, url, content, media_type, etag=version, last_modified=when)
