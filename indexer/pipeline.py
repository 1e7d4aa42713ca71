"""One indexing pass: source -> parse -> chunk -> embed -> store, incrementally.

Unchanged documents (same content hash, complete in the store) cost nothing. Changed ones
are re-embedded and replaced atomically. Documents gone from a complete listing are deleted;
a source that cannot be listed deletes nothing.

Whatever goes wrong with one source (its own error, or an exception nobody foresaw) is
recorded as that source's failed run, and the other sources still run: every trigger
(CLI, scheduler, chat reindex) always gets one report per source.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from bot.embedder import Embedder
from bot.errors import ConfigError, RagbotError, RunStopped
from bot.models import Chunk, Document
from bot.store import DocumentState, Store
from indexer.chunk import Chunker
from indexer.config import IndexerSettings, SourceConfig
from indexer.formats import NotIndexable
from indexer.parse import parse_document
from indexer.runs import RunLog, SourceReport
from indexer.sources import list_documents

__all__ = ["Indexer", "ProgressCallback"]

log = logging.getLogger(__name__)

# (source name, chunks embedded, chunks to embed so far): called as documents are chunked and
# after each embedded slice, so a progress bar moves while the slow part (embedding) runs. The
# total grows while the listing is chunked; a run where nothing changed never calls it.
ProgressCallback = Callable[[str, int, int], None]

_EMBED_GROUP_CHUNKS = 256  # embed several small documents in one batch
_EMBED_SLICE = 64  # texts embedded between two looks at the stop event, so shutdown is prompt


@dataclass
class _Pending:
    doc: Document
    chunks: list[Chunk]
    previous: DocumentState | None


class Indexer:
    def __init__(
        self, settings: IndexerSettings, store: Store, embedder: Embedder, *, stop: threading.Event | None = None
    ) -> None:
        self.settings = settings
        self.stop = stop or threading.Event()
        self.store = store
        self.embedder = embedder
        self.chunker = Chunker(embedder.tokenizer, settings.chunking)
        self.runs = RunLog(settings.data_dir)

    def run(
        self, source_names: Iterable[str] | None = None, full: bool = False, progress: ProgressCallback | None = None
    ) -> list[SourceReport]:
        sources = [self.settings.source(n) for n in source_names] if source_names else list(self.settings.sources)
        if not sources:
            raise ConfigError("no sources configured; add a [[sources]] table to ragbot.toml (see the README)")
        try:
            self.store.ensure_collection(self.embedder.dimension, self.embedder.model_name)
        except Exception as exc:  # store down or model broken: every source fails, and says why
            return [self._record(_failed_report(source.name, exc)) for source in sources]
        return [self._record(self.index_source(source, full=full, progress=progress)) for source in sources]

    def _record(self, report: SourceReport) -> SourceReport:
        self.runs.append(report)
        return report

    def index_source(
        self, source: SourceConfig, full: bool = False, progress: ProgressCallback | None = None
    ) -> SourceReport:
        """Index one source; never raises (but KeyboardInterrupt): a failure is a failed report."""
        report = SourceReport(name=source.name, started_at=_now())
        try:
            self._index(source, report, full, progress)
        except Exception as exc:  # source down, store down, model failure, a bug: stop this source, keep the index
            _fail(report, exc)
        finally:
            report.finished_at = _now()
        return report

    def _index(self, source: SourceConfig, report: SourceReport, full: bool, progress: ProgressCallback | None) -> None:
        states = self.store.document_states(source.name)
        listing = list_documents(source, self.settings, {} if full else states, self.stop)
        report.errors.extend(listing.errors)
        report.warnings.extend(listing.warnings)
        report.fetched = listing.fetched
        report.failed_documents = listing.failed
        report.unchanged += len(listing.not_modified)
        group: list[_Pending] = []
        embedded = planned = 0

        def on_embedded(count: int) -> None:
            nonlocal embedded
            embedded += count
            if progress:
                progress(source.name, embedded, planned)

        for doc in listing.documents:
            if self.stop.is_set():
                raise RunStopped("stopped by shutdown before the run finished; the next run finishes the job")
            previous = states.get(doc.doc_id)
            if not full and _unchanged(previous, doc):
                report.unchanged += 1
            elif pending := self._prepare(doc, previous, report):
                group.append(pending)
                planned += len(pending.chunks)
                if progress:
                    progress(source.name, embedded, planned)
                if sum(len(p.chunks) for p in group) >= _EMBED_GROUP_CHUNKS:
                    self._write(group, report, on_embedded)
                    group = []
        self._write(group, report, on_embedded)
        # Pages the source says are gone (404/410) go now; whatever else vanished goes only
        # when the listing was complete: a crawl cut short must not delete what it missed.
        vanished = set(states) - listing.present if listing.complete else set()
        for doc_id in sorted((vanished | listing.gone) & set(states)):
            self.store.delete_document(doc_id)
            report.deleted += 1
        report.complete = listing.complete
        self.store.finish_batch()

    def _prepare(self, doc: Document, previous: DocumentState | None, report: SourceReport) -> _Pending | None:
        try:
            chunks = self.chunker.chunk(doc, parse_document(doc))
        except NotIndexable as exc:  # a scanned PDF: nothing wrong with the run, but say why it is missing
            report.warnings.append(f"{doc.path}: skipped: {exc}")
            return None
        except RagbotError as exc:  # e.g. the PDF reader's extra is not installed: the message says what to do
            report.errors.append(f"{doc.path}: skipped: {exc}")
            report.failed_documents += 1
            return None
        except Exception as exc:  # one unparsable file must not stop the source
            report.errors.append(f"{doc.path}: skipped: cannot parse ({type(exc).__name__}: {exc})")
            report.failed_documents += 1
            return None
        if not chunks:
            report.errors.append(f"{doc.path}: skipped: no text found")
            report.failed_documents += 1
            return None
        return _Pending(doc, chunks, previous)

    def _embed_slice(self, texts: list[str]) -> np.ndarray:
        if self.stop.is_set():
            raise RunStopped("stopped by shutdown before the run finished; the next run finishes the job")
        return self.embedder.embed(texts)

    def _write(self, group: list[_Pending], report: SourceReport, on_embedded: Callable[[int], None]) -> None:
        if not group:
            return
        texts = [chunk.embedding_text for pending in group for chunk in pending.chunks]
        parts = []
        for i in range(0, len(texts), _EMBED_SLICE):
            parts.append(self._embed_slice(texts[i : i + _EMBED_SLICE]))
            on_embedded(len(parts[-1]))
        vectors = np.concatenate(parts)
        offset = 0
        for pending in group:
            count = len(pending.chunks)
            previous_count = pending.previous.index_end if pending.previous else 0
            self.store.replace_document(pending.chunks, vectors[offset : offset + count], previous_count)
            offset += count
            log.info("wrote %s (%d chunks)", pending.doc.doc_id, count)
            report.chunks_embedded += count
            if pending.previous is None:
                report.added += 1
            else:
                report.updated += 1


def _unchanged(previous: DocumentState | None, doc: Document) -> bool:
    """Stored whole, same content, same document sets (a new set changes who may read it)."""
    return (
        previous is not None
        and previous.consistent
        and previous.content_hash == doc.content_hash
        and previous.sets == frozenset(doc.sets)
    )


def _fail(report: SourceReport, exc: Exception) -> None:
    report.failed = True
    report.complete = False
    if isinstance(exc, RagbotError):
        report.errors.append(str(exc))
        return
    log.error("%s: unexpected failure", report.name, exc_info=exc)
    report.errors.append(
        f"unexpected failure ({type(exc).__name__}: {exc}); every document is kept in its old or new version; "
        "the log has the details (or rerun `ragbot index -v`); please report it"
    )


def _failed_report(name: str, exc: Exception) -> SourceReport:
    report = SourceReport(name=name, started_at=_now())
    _fail(report, exc)
    report.finished_at = report.started_at
    return report


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
