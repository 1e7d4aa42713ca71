"""What the store holds after a run, read back through the store's public protocol (for assertions)."""

from __future__ import annotations

import numpy as np

from bot.app.settings import AppSettings
from bot.models import Chunk, Passage, point_id
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


DIM = 8


def unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return vector / np.linalg.norm(vector)


def chunks_for(doc_id: str, count: int, version: str, source: str = "docs") -> tuple[list[Chunk], np.ndarray]:
    chunks = [
        Chunk(
            doc_id=doc_id,
            chunk_index=i,
            source=source,
            url=f"https://docs.example/{doc_id}#part-{i}",
            title=f"Title {doc_id}",
            section=f"Part {i}",
            text=f"{doc_id} chunk {i} {version}",
            content_hash=version,
        )
        for i in range(count)
    ]
    vectors = np.stack([unit(hash((doc_id, i)) % 2**32) for i in range(count)])
    return chunks, vectors
