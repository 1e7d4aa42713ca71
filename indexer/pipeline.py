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
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import numpy as np

from bot.embedder import Embedder
from bot.embedder_precision import fit_index
from bot.errors import ConfigError, RagbotError, RunStopped
from bot.model_files import declared_dimension
from bot.store import Store
from indexer.config import IndexerSettings, SourceConfig
from indexer.feed import DocumentFeed, Pending, PipelinedFeed, Preparer, SequentialFeed
from indexer.runs import RunLog, SourceReport
from indexer.stages import StageTimes

__all__ = ["Indexer", "ModelLoading", "ProgressCallback"]

log = logging.getLogger(__name__)

# (source name, chunks embedded, chunks to embed so far): called as documents are chunked and
# after each embedded slice, so a progress bar moves while the slow part (embedding) runs. The
# total grows while the listing is chunked; a run where nothing changed never calls it.
ProgressCallback = Callable[[str, int, int], None]
# Runs the embedding model's load, given as a function (the CLI wraps it in a spinner). Called
# at most once, when the first document to embed is ready: a run with nothing to embed never
# loads the model (or imports torch).
ModelLoading = Callable[[Callable[[], object]], None]

# Embed several small documents in one batch; a pipelined run embeds a smaller group (one slice
# or more) as soon as no prepared document is waiting, so the encoder never idles behind a fetch.
_EMBED_GROUP_CHUNKS = 256
_EMBED_SLICE = 64  # texts embedded between two looks at the stop event, so shutdown is prompt


class Indexer:
    """Indexes sources into the store. ``pipelined`` (the default) lists and parses on a producer
    thread while this one embeds; ``pipelined=False`` does one after the other (for comparison)."""

    def __init__(
        self,
        settings: IndexerSettings,
        store: Store,
        embedder: Embedder,
        *,
        stop: threading.Event | None = None,
        pipelined: bool = True,
        loading: ModelLoading | None = None,
    ) -> None:
        self.settings = settings
        self.stop = stop or threading.Event()
        self.store = store
        self.embedder = embedder
        self.pipelined = pipelined
        self.loading = loading or _call
        self.runs = RunLog(settings.data_dir)

    def run(
        self, source_names: Iterable[str] | None = None, full: bool = False, progress: ProgressCallback | None = None
    ) -> list[SourceReport]:
        sources = [self.settings.source(n) for n in source_names] if source_names else list(self.settings.sources)
        if not sources:
            raise ConfigError("no sources configured; add a [[sources]] table to ragbot.toml (see the README)")
        try:
            # The vector size from the model's config.json: checking the collection must not load the weights.
            dimension = declared_dimension(self.embedder.model_name) or self.embedder.dimension
            fit_index(self.embedder, self.store, dimension)  # and the precision the index was built with
        except Exception as exc:  # store down or model broken: every source fails, and says why
            return [self._record(_failed_report(source.name, exc)) for source in sources]
        return [self._record(self.index_source(source, full=full, progress=progress)) for source in sources]

    def _record(self, report: SourceReport) -> SourceReport:
        self.runs.append(report)
        return report

    def index_source(
        self, source: SourceConfig, full: bool = False, progress: ProgressCallback | None = None
    ) -> SourceReport:
        """Index one source; never raises (but KeyboardInterrupt): a failure is a failed report.

        ``report.stages`` gets the seconds per stage (see :mod:`indexer.stages`)."""
        report = SourceReport(name=source.name, started_at=_now())
        times = StageTimes()
        started = time.perf_counter()
        try:
            self._index(source, report, full, progress, times)
        except Exception as exc:  # source down, store down, model failure, a bug: stop this source, keep the index
            _fail(report, exc)
        finally:
            report.finished_at = _now()
            report.stages = {**times.to_json(time.perf_counter() - started), "pipelined": self.pipelined}
        return report

    def _index(
        self,
        source: SourceConfig,
        report: SourceReport,
        full: bool,
        progress: ProgressCallback | None,
        times: StageTimes,
    ) -> None:
        with times.timing("list_fetch"):
            states = self.store.document_states(source.name)
        prepare = Preparer(self.embedder, self.settings, states, full)
        kind = PipelinedFeed if self.pipelined else SequentialFeed
        feed: DocumentFeed = kind(source, self.settings, {} if full else states, prepare, self.stop, times)
        group: list[Pending] = []
        embedded = planned = 0

        def on_embedded(count: int) -> None:
            nonlocal embedded
            embedded += count
            if progress:
                progress(source.name, embedded, planned)

        try:
            for pending in feed:
                self._load_model(times)
                group.append(pending)
                planned += len(pending.chunks)
                if progress:
                    progress(source.name, embedded, planned)
                held = sum(len(p.chunks) for p in group)
                if held >= _EMBED_GROUP_CHUNKS or (held >= _EMBED_SLICE and feed.waiting()):
                    self._write(group, report, on_embedded, times)
                    group = []
            self._write(group, report, on_embedded, times)
            feed.raise_failure()  # a listing that failed: after writing what it read
        finally:  # what was prepared counts even when the listing failed after it
            feed.close()
            report.unchanged += prepare.tally.unchanged
            report.failed_documents += prepare.tally.failed
            report.errors.extend(prepare.tally.errors)
            report.warnings.extend(prepare.tally.warnings)
            report.fetched = feed.listing.fetched  # a listing that failed: what it handed over
        listing = feed.listing
        report.errors[:0] = listing.errors  # the listing's problems first, then the documents'
        report.warnings[:0] = listing.warnings
        report.failed_documents += listing.failed
        report.unchanged += len(listing.not_modified)
        # Pages the source says are gone (404/410) go now; whatever else vanished goes only
        # when the listing was complete: a crawl cut short must not delete what it missed.
        vanished = set(states) - listing.present if listing.complete else set()
        with times.timing("store_write"):
            for doc_id in sorted((vanished | listing.gone) & set(states)):
                self.store.delete_document(doc_id)
                report.deleted += 1
            report.complete = listing.complete
            self.store.finish_batch()

    def _load_model(self, times: StageTimes) -> None:
        """Load the encoder when the first document to embed is ready (the feed keeps preparing)."""
        if not self.embedder.loaded:
            with times.timing("model_load"):
                self.loading(lambda: self.embedder.dimension)

    def _embed_slice(self, texts: list[str]) -> np.ndarray:
        if self.stop.is_set():
            raise RunStopped("stopped by shutdown before the run finished; the next run finishes the job")
        return self.embedder.embed(texts)

    def _write(
        self, group: list[Pending], report: SourceReport, on_embedded: Callable[[int], None], times: StageTimes
    ) -> None:
        if not group:
            return
        texts = [chunk.embedding_text for pending in group for chunk in pending.chunks]
        parts = []
        for i in range(0, len(texts), _EMBED_SLICE):
            with times.timing("embed"):
                parts.append(self._embed_slice(texts[i : i + _EMBED_SLICE]))
            on_embedded(len(parts[-1]))
        vectors = np.concatenate(parts)
        offset = 0
        for pending in group:
            count = len(pending.chunks)
            previous_count = pending.previous.index_end if pending.previous else 0
            with times.timing("store_write"):
                self.store.replace_document(pending.chunks, vectors[offset : offset + count], previous_count)
            offset += count
            log.info("wrote %s (%d chunks)", pending.doc.doc_id, count)
            report.chunks_embedded += count
            if pending.previous is None:
                report.added += 1
            else:
                report.updated += 1


def _call(load: Callable[[], object]) -> None:
    load()


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
