"""The first half of an indexing pass: list a source, skip what is unchanged, parse and chunk the rest.

Two feeds, one result. :class:`SequentialFeed` lists the whole source, then prepares each
document (how every run used to work). :class:`PipelinedFeed` lists and prepares on a producer
thread and hands each prepared document to the caller through a small bounded queue, so that
fetching and parsing overlap with the caller's embedding: a crawl becomes embed-bound instead of
fetch-then-embed, and the queue's bound keeps memory flat however large the source is.

Both keep the rules of a run: one document that cannot be parsed is counted and skipped; a
listing that fails raises its own error after the documents read before it (nothing is deleted:
deletions need the finished listing); a shutdown (``stop``) ends the run with
:class:`~bot.errors.RunStopped` unless the listing said why first; a run that fails stops the
listing and waits for it to end, so that no listing outlives the run's lock on its source.
"""

from __future__ import annotations

import copy
import logging
import queue
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.embedder import Embedder
from bot.errors import RagbotError, RunStopped
from bot.models import Chunk, Document
from bot.store import DocumentState
from indexer.chunk import Chunker
from indexer.config import IndexerSettings, SourceConfig
from indexer.formats import NotIndexable
from indexer.parse import parse_document
from indexer.sources import Listing, list_documents
from indexer.stages import BusyTime, StageTimes

__all__ = ["DocumentFeed", "Pending", "PipelinedFeed", "Preparer", "SequentialFeed", "Tally"]

log = logging.getLogger(__name__)

QUEUE_DOCUMENTS = 8  # prepared documents the producer may run ahead of the embedder
_PATIENCE_S = 5.0  # how long a failed run waits for the listing to end before it says it still waits
_POLL_S = 0.1  # how often the caller, waiting for a document, passes a shutdown on to the listing
_STOPPED = "stopped by shutdown before the run finished; the next run finishes the job"


@dataclass
class Pending:
    """A document to (re-)embed: its chunks, and what the store holds of it now."""

    doc: Document
    chunks: list[Chunk]
    previous: DocumentState | None


@dataclass
class Tally:
    """What preparing found besides documents to embed; the run report adds it up."""

    unchanged: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class Preparer:
    """Turns one listed document into chunks to embed, or counts why not (unchanged, unreadable).

    The chunker measures with its own copy of the embedder's tokenizer, made on first use (a run
    with nothing changed never loads it): a fast tokenizer called from two threads at once (this
    one chunking, the embedder's padding a batch) fails with "Already borrowed".
    """

    def __init__(
        self, embedder: Embedder, settings: IndexerSettings, states: Mapping[str, DocumentState], full: bool
    ) -> None:
        self.embedder = embedder
        self.settings = settings
        self.states = states
        self.full = full
        self.tally = Tally()
        self._chunker: Chunker | None = None
        self._lock = threading.Lock()  # a connector may list from several threads

    def __call__(self, doc: Document) -> Pending | None:
        with self._lock:
            previous = self.states.get(doc.doc_id)
            if not self.full and _unchanged(previous, doc):
                self.tally.unchanged += 1
                return None
            chunks = self._chunks(doc)
            return Pending(doc, chunks, previous) if chunks else None

    def _chunks(self, doc: Document) -> list[Chunk]:
        try:
            chunks = self._chunker_now().chunk(doc, parse_document(doc))
        except NotIndexable as exc:  # a scanned PDF: nothing wrong with the run, but say why it is missing
            self.tally.warnings.append(f"{doc.path}: skipped: {exc}")
            return []
        except RagbotError as exc:  # e.g. the PDF reader's extra is not installed: the message says what to do
            return self._failed(f"{doc.path}: skipped: {exc}")
        except Exception as exc:  # one unparsable file must not stop the source
            return self._failed(f"{doc.path}: skipped: cannot parse ({type(exc).__name__}: {exc})")
        return chunks or self._failed(f"{doc.path}: skipped: no text found")

    def _failed(self, message: str) -> list[Chunk]:
        self.tally.errors.append(message)
        self.tally.failed += 1
        return []

    def _chunker_now(self) -> Chunker:
        if self._chunker is None:
            self._chunker = Chunker(copy.deepcopy(self.embedder.tokenizer), self.settings.chunking)
        return self._chunker


class DocumentFeed:
    """Iterate for the documents to embed; once the iteration ends, :attr:`listing` is the source's."""

    def __init__(
        self,
        source: SourceConfig,
        settings: IndexerSettings,
        known: Mapping[str, DocumentState],
        prepare: Preparer,
        stop: threading.Event,
        times: StageTimes,
    ) -> None:
        self.source = source
        self.settings = settings
        self.known = known
        self.prepare = prepare
        self.stop = stop
        self.times = times
        self.listing = Listing(complete=False)  # until the source's own: a run cut short deletes nothing
        self.failure: BaseException | None = None  # the listing's error, once the documents before it are out

    def __iter__(self) -> Iterator[Pending]:
        raise NotImplementedError

    def raise_failure(self) -> None:
        """Raise the listing's error, if it failed: the caller first writes what was read before it."""
        if self.failure is not None:
            raise self.failure

    def close(self) -> None:
        """The caller gives up early (it failed): end the listing, and return only once it has ended.

        The source's lock is released after this: a listing still at work then (a git pull, a
        slow page) could collide with the next run of the source (git's index.lock, its state
        saved twice)."""

    def waiting(self) -> bool:
        """Whether the next document is not prepared yet: then the caller embeds what it holds
        rather than sit idle while the source is read."""
        return False


class SequentialFeed(DocumentFeed):
    """List everything, then prepare each document: nothing overlaps."""

    def __iter__(self) -> Iterator[Pending]:
        with self.times.timing("list_fetch"):
            self.listing = list_documents(self.source, self.settings, self.known, self.stop)
        for doc in self.listing.documents:
            if self.stop.is_set():
                raise RunStopped(_STOPPED)
            with self.times.timing("parse_chunk"):
                pending = self.prepare(doc)
            if pending is not None:
                yield pending


class _Abandoned(BaseException):
    """Raised inside the listing when the run gave up; a BaseException, so that a connector's
    ``except Exception`` (which keeps one bad page from ending a crawl) cannot swallow it."""


@dataclass
class _End:
    listing: Listing | None = None
    error: BaseException | None = None


class PipelinedFeed(DocumentFeed):
    """A producer thread lists and prepares; the caller embeds what it hands over, meanwhile."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queue: queue.Queue[Pending | _End] = queue.Queue(maxsize=QUEUE_DOCUMENTS)
        self._abandon = threading.Event()
        # The listing's own stop: set by a shutdown (the caller passes it on) or by close(), so a
        # connector that honours ``stop`` ends a slow fetch at once, not at its next document.
        self._halt = threading.Event()
        self._dropped = False  # documents read after a stop, not prepared
        self._in_sink = BusyTime()  # the listing handing documents over: not listing time
        self._count_lock = threading.Lock()  # a connector may hand documents over from several threads
        self._thread = threading.Thread(target=self._produce, name=f"index-{self.source.name}", daemon=True)

    def __iter__(self) -> Iterator[Pending]:
        self._thread.start()
        stopped = False
        while not isinstance(item := self._next(), _End):
            if self.stop.is_set():  # shutdown: embed no more, but let the listing end and say why
                stopped = True
                continue
            yield item
        self._thread.join()
        if item.error is not None:
            if stopped or self._dropped:  # a shutdown: nothing more is written, but the listing says why
                raise item.error
            self.failure = item.error
            return
        if stopped or self._dropped:
            raise RunStopped(_STOPPED)
        assert item.listing is not None
        self.listing = item.listing
        for doc in self.listing.documents:  # a Listing made off the listing's thread kept its own: not lost
            with self.times.timing("parse_chunk"):
                pending = self.prepare(doc)
            if pending is not None:
                yield pending

    def waiting(self) -> bool:
        return self._queue.empty()

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        self._abandon.set()
        self._halt.set()
        self._thread.join(_PATIENCE_S)
        if self._thread.is_alive():  # a connector that does not honour stop (a git pull): it must end first
            log.warning("%s: waiting for the source's listing to end before the run ends", self.source.name)
            self._thread.join()

    def _next(self) -> Pending | _End:
        """The next prepared document, or the end; passes a shutdown on to the listing meanwhile."""
        while True:
            if self.stop.is_set():
                self._halt.set()
            try:
                return self._queue.get(timeout=_POLL_S)
            except queue.Empty:
                continue

    def _produce(self) -> None:
        end = _End()
        started = time.perf_counter()
        try:
            end.listing = list_documents(self.source, self.settings, self.known, self._halt, on_document=self._take)
        except _Abandoned:
            return
        except BaseException as exc:  # handed to the caller, which raises it as the sequential run would
            end.error = exc
        finally:
            self.times.add("list_fetch", max(0.0, time.perf_counter() - started - self._in_sink.seconds()))
        try:
            self._put(end)
        except _Abandoned:
            pass

    def _take(self, doc: Document) -> None:
        """The listing's sink: prepare ``doc`` and queue it (the wait for room counts in no stage).

        Until the listing ends, :attr:`listing` counts what was handed over as fetched: a listing
        that fails reports the documents it did read (and the run wrote)."""
        with self._in_sink.inside():
            if self._abandon.is_set():
                raise _Abandoned
            with self._count_lock:
                self.listing.fetched += 1
            if self.stop.is_set():
                self._dropped = True
                return
            with self.times.timing("parse_chunk"):
                pending = self.prepare(doc)
            if pending is not None:
                self._put(pending)

    def _put(self, item: Pending | _End) -> None:
        while True:
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                if self._abandon.is_set():
                    raise _Abandoned from None


def _unchanged(previous: DocumentState | None, doc: Document) -> bool:
    """Stored whole, same content, same document sets (a new set changes who may read it)."""
    return (
        previous is not None
        and previous.consistent
        and previous.content_hash == doc.content_hash
        and previous.sets == frozenset(doc.sets)
    )
