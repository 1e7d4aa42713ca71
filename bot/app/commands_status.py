"""``ragbot status``: what is indexed, per source, with the run history (table or JSON)."""

from __future__ import annotations

import argparse
from typing import Any

from bot.app.common import load, print_json

__all__ = ["register", "run"]


def register(commands: Any) -> None:
    status = commands.add_parser("status", help="show what is indexed")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from bot.store import open_store
    from indexer.runs import RunLog

    settings = load(args)
    store = open_store(settings)
    try:
        run_log = RunLog(settings.data_dir)
        runs = run_log.last_runs()
        sources = []
        for source in settings.sources:
            states = store.document_states(source.name)
            last = runs.get(source.name)
            sources.append(
                {
                    "name": source.name,
                    "type": source.type,
                    "documents": len(states),
                    "chunks": sum(s.chunk_count for s in states.values()),
                    "last_run": last and last.get("finished_at"),
                    "last_status": last and last.get("status"),
                    "last_error": (last["errors"][-1] if last and last.get("errors") else None),
                    "schedule": source.schedule,
                    "next_run": _next_run(source.schedule, settings),
                }
            )
        meta = store.meta()
        from bot.chatstate import open_chat_state

        chat_state = open_chat_state(settings, store)
        feedback = chat_state.feedback_counts()
        chat_state.close()
        payload = {
            "store": {"backend": store.backend_name, "collection": settings.collection, "chunks": store.count()},
            "embedding_model": settings.embedding.model,
            "indexed_with": meta.get("embedding_model") or meta.get("model"),
            "generator": settings.generator.backend,
            "data_dir": str(settings.data_dir),
            "feedback": feedback,
            "sources": sources,
            "recent_runs": run_log.recent(10),
        }
    finally:
        store.close()
    if args.json:
        print_json(payload)
        return 0
    print(
        f"store: {payload['store']['backend']}, collection {settings.collection!r}, {payload['store']['chunks']} chunks"
    )
    print(f"embedding model: {settings.embedding.model}; generator: {settings.generator.backend}")
    print(f"feedback: {feedback['up']} helpful, {feedback['down']} not helpful")
    for s in sources:
        schedule = f", schedule {s['schedule']!r}, next {s['next_run']}" if s["schedule"] else ", no schedule"
        print(
            f"- {s['name']} ({s['type']}): {s['documents']} documents, {s['chunks']} chunks, "
            f"last run {s['last_run'] or 'never'}{' (' + s['last_status'] + ')' if s['last_status'] else ''}{schedule}"
        )
        if s["last_error"]:
            print(f"  last error: {s['last_error']}")
    if payload["recent_runs"]:
        print("recent runs:")
        for record in payload["recent_runs"]:
            print(
                f"  {record.get('finished_at', '?')} {record['name']}: {record.get('status', '?')}, "
                f"{record.get('fetched', 0)} fetched, {record['added']} added, {record['updated']} updated, "
                f"{record['deleted']} deleted, {record['unchanged']} unchanged, {record.get('failed', 0)} failed, "
                f"{len(record['errors'])} errors"
            )
    return 0


def _next_run(schedule: str | None, settings: Any) -> str | None:
    """When the cron next fires (before jitter), as the scheduler will compute it."""
    if not schedule:
        return None
    from datetime import UTC, datetime

    from indexer.schedule import cron_trigger

    fire = cron_trigger(schedule, timezone=settings.scheduler.timezone).get_next_fire_time(None, datetime.now(UTC))
    return fire.isoformat(timespec="seconds") if fire else None
