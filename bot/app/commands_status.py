"""``ragbot status``: what is indexed, per source, with the run history (table or JSON)."""

from __future__ import annotations

import argparse
from typing import Any

from bot.admin import Status
from bot.app.common import load, print_json

__all__ = ["register", "run", "print_status"]


def register(commands: Any) -> None:
    status = commands.add_parser("status", help="show what is indexed")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from bot.app.status import collect_status
    from bot.chatstate import open_chat_state
    from bot.store import open_store

    settings = load(args)
    store = open_store(settings)
    try:
        chat_state = open_chat_state(settings, store)
        try:
            status = collect_status(settings, store, chat_state)
        finally:
            chat_state.close()
    finally:
        store.close()
    if args.json:
        print_json(status.to_json())
    else:
        print_status(status)
    return 0


def print_status(status: Status) -> None:
    """The report as the terminal shows it."""
    print(f"store: {status.store_backend}, collection {status.collection!r}, {status.chunks} chunks")
    print(f"embedding model: {status.embedding_model}; generator: {status.generator}")
    print(f"feedback: {status.feedback['up']} helpful, {status.feedback['down']} not helpful")
    for s in status.sources:
        last = s.last_run
        schedule = f", schedule {s.schedule!r}, next {s.next_run}" if s.schedule else ", no schedule"
        outcome = f" ({last.status})" if last and last.status else ""
        print(
            f"- {s.name} ({s.type}): {s.documents} documents, {s.chunks} chunks, "
            f"last run {(last and last.finished_at) or 'never'}{outcome}{schedule}"
        )
        if s.last_error:
            print(f"  last error: {s.last_error}")
    if status.recent_runs:
        print("recent runs:")
        for record in status.recent_runs:
            print(
                f"  {record.finished_at or '?'} {record.name}: {record.status or '?'}, "
                f"{record.fetched} fetched, {record.added} added, {record.updated} updated, "
                f"{record.deleted} deleted, {record.unchanged} unchanged, {record.failed} failed, "
                f"{len(record.errors)} errors"
            )
