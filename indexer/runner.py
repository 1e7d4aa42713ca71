"""The one entry point for an indexing run: CLI, chat admin commands and the scheduler use it.

A run takes a lock per source under the data dir, so a second trigger of a source that is
already being indexed (in this process or another) is refused with a clear message.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bot import metrics
from bot.embedder import Embedder
from bot.errors import AlreadyRunning
from bot.store import Store
from indexer.config import IndexerSettings
from indexer.pipeline import Indexer, ModelLoading, ProgressCallback
from indexer.runs import SourceReport

__all__ = ["AlreadyRunning", "run_index"]


@contextmanager
def _source_lock(data_dir: Path, source: str) -> Iterator[None]:
    locks = data_dir / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    fd = os.open(locks / f"index-{source}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(
                f"source {source!r} is already being indexed; wait for that run to finish (see `ragbot status`)"
            ) from None
        yield
    finally:
        os.close(fd)  # closing releases the lock


def run_index(
    settings: IndexerSettings,
    store: Store,
    embedder: Embedder,
    source_names: list[str] | None = None,
    *,
    full: bool = False,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    loading: ModelLoading | None = None,
    pipelined: bool = True,
) -> list[SourceReport]:
    """Index the named sources (default: all); AlreadyRunning if any of them is being indexed.

    ``loading`` wraps the model's load, if a run needs it; ``pipelined=False`` lists and parses
    before embedding instead of meanwhile (see :class:`indexer.pipeline.Indexer`)."""
    names = source_names or [s.name for s in settings.sources]
    for name in names:
        settings.source(name)
    with ExitStack() as stack:
        for name in names:
            stack.enter_context(_source_lock(settings.data_dir, name))
        indexer = Indexer(settings, store, embedder, stop=stop, loading=loading, pipelined=pipelined)
        reports = indexer.run(names, full=full, progress=progress)
    for report in reports:
        _count(report)
    if any(not r.failed for r in reports) and settings.retrieval.answerability == "learned":
        _measure_anchors(settings, store, embedder, stop)
    return reports


def _measure_anchors(settings: IndexerSettings, store: Store, embedder: Embedder, stop: threading.Event | None) -> None:
    """Where this index puts the answer-or-refuse signals (bot/calibration.py), measured when the
    index is new or has changed size by a tenth: about 120 questions through the answer path. A
    shutdown (``stop``) interrupts it between two questions."""
    if stop is not None and stop.is_set():
        return
    from bot.core import RagCore

    # borrows the store and the embedder, and closes neither
    RagCore(settings, store=store, embedder=embedder).anchors.calibrate_quietly(stop)


def _count(report: SourceReport) -> None:
    summary = report.to_json()
    metrics.INDEX_RUNS.labels(report.name, summary["status"]).inc()
    for change in ("added", "updated", "deleted", "unchanged", "failed"):
        metrics.INDEX_DOCUMENTS.labels(report.name, change).inc(summary[change])
