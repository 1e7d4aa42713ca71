from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from bot.errors import SourceError
from bot.models import Document

__all__ = ["DocumentSink", "Listing", "SourceError", "content_hash", "streaming_to"]

# Called with each document as soon as it is read, so the pipeline can parse and embed it while
# the source goes on listing (a crawl is then embed-bound, not fetch-then-embed).
DocumentSink = Callable[[Document], None]

# Set around one source's listing by ``list_documents(on_document=...)``: every source builds its
# own Listing, so this reaches them all without threading a parameter through each connector.
_SINK: ContextVar[DocumentSink | None] = ContextVar("ragbot_document_sink", default=None)


@contextmanager
def streaming_to(sink: DocumentSink | None) -> Iterator[None]:
    """Listings made inside this block hand their documents to ``sink`` instead of keeping them."""
    token = _SINK.set(sink)
    try:
        yield
    finally:
        _SINK.reset(token)


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
    # With a sink, documents go to it as they are read and ``documents`` stays empty: memory stays
    # bounded by what the pipeline holds, not by the size of the source.
    sink: DocumentSink | None = field(default_factory=_SINK.get, repr=False, compare=False)

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
        document = Document(
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
        if self.sink is not None:
            self.sink(document)
        else:
            self.documents.append(document)

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
