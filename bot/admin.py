"""What admins ask of a running bot, as the core sees it: reindex, and a status report.

The chat core (:class:`bot.chat.ChatService`) offers ``reindex`` and ``status`` commands but
does not index: it receives an :class:`AdminOps`, which the composition root implements over
the indexer (``bot/app/admin.py``). :class:`Status` is the one status report: the CLI's table
and ``--json``, and the chat reply Slack and Discord show, are renderings of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["AdminOps", "RunRecord", "SourceStatus", "Status"]


@dataclass(frozen=True)
class RunRecord:
    """One indexing run of one source, as the run history (``runs.jsonl``) records it."""

    name: str
    status: str = "ok"  # "ok", "partial" (some documents failed, or the listing was incomplete) or "failed"
    fetched: int = 0
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    failed: int = 0  # documents that could not be read or parsed
    chunks_embedded: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    complete: bool = True  # the listing was complete, so vanished documents were deleted
    started_at: str = ""
    finished_at: str = ""

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> RunRecord:
        """From a run-history line (older lines lack some keys: their defaults apply)."""
        known = {name: record[name] for name in cls.__dataclass_fields__ if name in record}
        return cls(**known)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "added": self.added,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "chunks_embedded": self.chunks_embedded,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "fetched": self.fetched,
            "failed": self.failed,
            "complete": self.complete,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }

    def summary(self) -> str:
        """One line for chat and logs."""
        state = (
            "failed"
            if self.status == "failed"
            else "done"
            if self.complete
            else "done (incomplete listing: nothing deleted)"
        )
        return (
            f"{self.name}: {state}: {self.fetched} fetched, {self.added} added, {self.updated} updated, "
            f"{self.deleted} deleted, {self.unchanged} unchanged, {self.failed} failed, "
            f"{self.chunks_embedded} chunks embedded, {len(self.errors)} errors"
            + (f", {len(self.warnings)} warnings" if self.warnings else "")
        )


@dataclass(frozen=True)
class SourceStatus:
    """One configured source: what the index holds of it, its last run and its schedule."""

    name: str
    type: str
    documents: int
    chunks: int
    last_run: RunRecord | None = None
    schedule: str | None = None
    next_run: str | None = None  # ISO time the schedule next fires (before jitter)

    @property
    def last_error(self) -> str | None:
        return self.last_run.errors[-1] if self.last_run and self.last_run.errors else None

    def to_json(self) -> dict[str, Any]:
        last = self.last_run
        return {
            "name": self.name,
            "type": self.type,
            "documents": self.documents,
            "chunks": self.chunks,
            "last_run": last and last.finished_at,
            "last_status": last and last.status,
            "last_error": self.last_error,
            "schedule": self.schedule,
            "next_run": self.next_run,
        }


@dataclass(frozen=True)
class Status:
    """What is indexed, with what, and how the last runs went."""

    store_backend: str
    collection: str
    chunks: int
    embedding_model: str  # configured
    indexed_with: str | None  # the model the collection was built with (None: not recorded)
    generator: str
    data_dir: str
    feedback: Mapping[str, int]  # {"up": n, "down": n}
    sources: list[SourceStatus]
    recent_runs: list[RunRecord]  # newest first

    def to_json(self) -> dict[str, Any]:
        """The shape of `ragbot status --json`."""
        return {
            "store": {"backend": self.store_backend, "collection": self.collection, "chunks": self.chunks},
            "embedding_model": self.embedding_model,
            "indexed_with": self.indexed_with,
            "generator": self.generator,
            "data_dir": self.data_dir,
            "feedback": dict(self.feedback),
            "sources": [source.to_json() for source in self.sources],
            "recent_runs": [run.to_json() for run in self.recent_runs],
        }


class AdminOps(Protocol):
    """The admin operations a chat offers, implemented by the composition root."""

    def reindex(self, source: str | None) -> list[RunRecord]:
        """Index one source (``None``: every source) now and return one record per source.

        Raises ConfigError for an unknown source, AlreadyRunning when that source is being
        indexed already, and other RagbotErrors when the run cannot start. A source that fails
        during the run is a record with ``status == "failed"``, not an exception."""
        ...

    def status(self) -> Status:
        """The status report now. Raises StoreUnavailable when the store can't be reached."""
        ...

    def train(self) -> str:
        """Train the query encoder now, on what ``[training]`` names (``ragbot train``), and return
        a few lines saying what came of it. Raises RagbotError when the run can't start (no index,
        a run already going on)."""
        ...
