"""What the store holds after a run, read back through the store's public protocol (for assertions)."""

from __future__ import annotations

from bot.app.settings import AppSettings
from bot.models import Passage, point_id
from bot.store import open_store

__all__ = ["stored_chunks", "stored_ids"]


def stored_chunks(settings: AppSettings, doc_id: str) -> list[Passage]:
    """The live chunks of one document, in order."""
    store = open_store(settings)
    try:
        state = store.document_states().get(doc_id)
        if state is None:
            return []
        passages = store.fetch([point_id(doc_id, index) for index in range(state.index_end)])
        return sorted(passages, key=lambda passage: passage.chunk_index)
    finally:
        store.close()


def stored_ids(settings: AppSettings, source: str) -> set[str]:
    """The ids of the documents of ``source`` stored whole."""
    store = open_store(settings)
    try:
        states = store.document_states(source)
        assert all(state.consistent for state in states.values()), "a document is stored half-way"
        return set(states)
    finally:
        store.close()
