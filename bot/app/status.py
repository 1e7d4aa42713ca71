"""Collect the one status report (:class:`bot.admin.Status`) from the store, the run history and the
chat state. The CLI (`ragbot status`, table and ``--json``) and the chat ``status`` command both
render what this returns, so they cannot drift apart."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.admin import RunRecord, SourceStatus, Status
from bot.chatstate import ChatState
from bot.store import Store
from indexer.config import IndexerSettings
from indexer.runs import RunLog

__all__ = ["collect_status", "RECENT_RUNS"]

RECENT_RUNS = 10


def collect_status(settings: IndexerSettings, store: Store, chat_state: ChatState) -> Status:
    """The report now. Raises StoreUnavailable when the store can't be reached."""
    run_log = RunLog(settings.data_dir)
    last_runs = run_log.last_runs()
    sources = []
    for source in settings.sources:
        states = store.document_states(source.name)
        last = last_runs.get(source.name)
        sources.append(
            SourceStatus(
                name=source.name,
                type=source.type,
                documents=len(states),
                chunks=sum(s.chunk_count for s in states.values()),
                last_run=RunRecord.from_json(last) if last else None,
                schedule=source.schedule,
                next_run=next_run(source.schedule, settings.scheduler.timezone),
            )
        )
    meta = store.meta()
    return Status(
        store_backend=store.backend_name,
        collection=settings.collection,
        chunks=store.count(),
        embedding_model=settings.embedding.model,
        indexed_with=meta.get("embedding_model") or meta.get("model"),
        generator=settings.generator.backend,
        data_dir=str(settings.data_dir),
        feedback=chat_state.feedback_counts(),
        sources=sources,
        recent_runs=[RunRecord.from_json(record) for record in run_log.recent(RECENT_RUNS)],
    )


def next_run(schedule: str | None, timezone: str) -> str | None:
    """When the cron next fires (before jitter), as the scheduler will compute it."""
    if not schedule:
        return None
    from indexer.schedule import cron_trigger

    fire = cron_trigger(schedule, timezone=timezone).get_next_fire_time(None, datetime.now(UTC))
    return fire.isoformat(timespec="seconds") if fire else None
