from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from bot.errors import SourceError
from bot.models import Document

__all__ = ["Listing", "SourceError", "content_hash"]


@dataclass
class Listing:
    """Everything a source holds right now.

    ``present`` also names documents that exist but could not be read this time, and
    documents the source says are unchanged (HTTP 304): their stored version stays.
    Ids absent from ``present`` are deleted only when the listing is ``complete``; ids in
    ``gone`` (a page answering 404 or 410) are deleted even from an incomplete listing.
    """

    documents: list[Document] = field(default_factory=list)  # read in full this time
    present: set[str] = field(default_factory=set)
    not_modified: set[str] = field(default_factory=set)
    gone: set[str] = field(default_factory=set)
    complete: bool = True
    fetched: int = 0  # documents read or confirmed unchanged by the source
    failed: int = 0  # documents that exist but could not be read, or were skipped for safety
    errors: list[str] = field(default_factory=list)
    # Not failures, but worth a look: a crawl cut at max_pages, trap caps, malformed links skipped.
    warnings: list[str] = field(default_factory=list)

    def add(
        self,
        doc_id: str,
        source: str,
        sets: list[str],
        path: str,
        url: str,
        content: bytes,
        media_type: str,
        etag: str = "",
        last_modified: str = "",
    ) -> None:
        """A document read in full this run."""
        self.present.add(doc_id)
        self.fetched += 1
        self.documents.append(
            Document(
                doc_id=doc_id,
                source=source,
                url=url,
                path=path,
                content=content,
                content_hash=content_hash(content),
                media_type=media_type,
                sets=tuple(sorted(set(sets))),
                etag=etag,
                last_modified=last_modified,
            )
        )

    def skip(self, message: str) -> None:
        """A file that will not be indexed (and whose stored version, if any, goes): say why."""
        self.failed += 1
        self.errors.append(message)

    def fail(self, doc_id: str, message: str) -> None:
        """A document that exists but could not be read: keep its old version."""
        self.present.add(doc_id)
        self.failed += 1
        self.errors.append(message)


def content_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
