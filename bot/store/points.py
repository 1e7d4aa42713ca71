"""What a chunk looks like as a stored point, and back: payloads, replacement writes, states.

Engine-neutral: both engines write the same payloads and read them back through these helpers,
so a point written by one engine means the same to the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from bot.models import Chunk, Passage, point_id
from bot.sparse import SparseVector, document_vector
from bot.store.base import DocumentState

__all__ = [
    "chunk_payload",
    "PointWrite",
    "replacement_points",
    "passage_from_payload",
    "live_passages",
    "collect_states",
    "STATE_FIELDS",
]

# The payload fields document_states reads: scrolling only these keeps a full listing cheap.
STATE_FIELDS = [
    "doc_id",
    "source",
    "content_hash",
    "chunk_index",
    "chunk_count",
    "stale",
    "sets",
    "etag",
    "last_modified",
]


def chunk_payload(chunk: Chunk, chunk_count: int, updated_at: datetime | None = None) -> dict[str, Any]:
    stamp = (updated_at or datetime.now(UTC)).isoformat(timespec="seconds")
    return {
        "doc_id": chunk.doc_id,
        "source": chunk.source,
        "url": chunk.url,
        "title": chunk.title,
        "section": chunk.section,
        "text": chunk.text,
        "content_hash": chunk.content_hash,
        "updated_at": stamp,
        "chunk_index": chunk.chunk_index,
        "chunk_count": chunk_count,
        "sets": sorted(chunk.sets),
        **({"etag": chunk.etag} if chunk.etag else {}),
        **({"last_modified": chunk.last_modified} if chunk.last_modified else {}),
    }


@dataclass(frozen=True)
class PointWrite:
    """One point of a document replacement, in engine-neutral form."""

    id: str
    vector: list[float]
    payload: dict[str, Any]
    sparse: SparseVector | None = None  # keyword vector; None for tombstones


def replacement_points(
    chunks: Sequence[Chunk], vectors: np.ndarray, previous_count: int
) -> tuple[list[PointWrite], list[str]]:
    """The points that replace a document in one upsert, and the tombstone ids to delete after.

    Chunks ``len(chunks)..previous_count-1`` of the old version become tombstones (``stale``)
    that searches skip, so the single upsert switches the whole document at once.
    """
    first = chunks[0]
    points = [
        PointWrite(
            chunk.point_id, vector.tolist(), chunk_payload(chunk, len(chunks)), document_vector(chunk.embedding_text)
        )
        for chunk, vector in zip(chunks, vectors, strict=True)
    ]
    filler = points[0].vector
    stale = [point_id(first.doc_id, index) for index in range(len(chunks), previous_count)]
    points += [
        PointWrite(pid, filler, {"doc_id": first.doc_id, "source": first.source, "chunk_index": index, "stale": True})
        for index, pid in zip(range(len(chunks), previous_count), stale)
    ]
    return points, stale


def passage_from_payload(payload: dict[str, Any], score: float) -> Passage:
    return Passage(
        doc_id=payload["doc_id"],
        chunk_index=int(payload.get("chunk_index", 0)),
        source=payload.get("source", ""),
        url=payload.get("url", ""),
        title=payload.get("title", ""),
        section=payload.get("section", ""),
        text=payload.get("text", ""),
        score=float(score),
    )


def live_passages(payloads: Sequence[dict[str, Any] | None]) -> list[Passage]:
    """Passages of fetched points, tombstones left out."""
    return [passage_from_payload(p, 0.0) for p in payloads if p and "doc_id" in p and not p.get("stale")]


def collect_states(payloads: list[dict[str, Any]]) -> dict[str, DocumentState]:
    """Fold per-point payloads into one DocumentState per document."""
    hashes: dict[str, set[str]] = {}
    counts: dict[str, int] = {}
    expected: dict[str, int] = {}
    sources: dict[str, str] = {}
    stale: dict[str, int] = {}
    index_end: dict[str, int] = {}
    sets: dict[str, set[str]] = {}
    validators: dict[str, tuple[str, str]] = {}
    for payload in payloads:
        doc_id = payload["doc_id"]
        sources[doc_id] = payload.get("source", "")
        index_end[doc_id] = max(index_end.get(doc_id, 0), int(payload.get("chunk_index", 0)) + 1)
        hashes.setdefault(doc_id, set())
        if payload.get("stale"):
            stale[doc_id] = stale.get(doc_id, 0) + 1
            continue
        hashes[doc_id].add(payload.get("content_hash", ""))
        sets.setdefault(doc_id, set()).update(payload.get("sets", []))
        validators[doc_id] = (payload.get("etag", ""), payload.get("last_modified", ""))
        counts[doc_id] = counts.get(doc_id, 0) + 1
        expected[doc_id] = max(expected.get(doc_id, 0), int(payload.get("chunk_count", 0)))
    return {
        doc_id: DocumentState(
            doc_id,
            sources[doc_id],
            frozenset(hashes[doc_id]),
            counts.get(doc_id, 0),
            expected.get(doc_id, 0),
            stale.get(doc_id, 0),
            index_end[doc_id],
            frozenset(sets.get(doc_id, ())),
            *validators.get(doc_id, ("", "")),
        )
        for doc_id in hashes
    }
