"""The one small interface every vector store engine implements.

The indexer and the retriever only talk to this protocol; whether the points live in
an embedded engine or on a Qdrant server is decided once, in :func:`bot.store.open_store`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np

from bot.models import Chunk, Passage, point_id
from bot.sparse import SparseVector, document_vector

__all__ = [
    "Store",
    "DocumentState",
    "chunk_payload",
    "PointWrite",
    "replacement_points",
    "passage_from_payload",
    "live_passages",
    "collect_states",
    "PAYLOAD_INDEXES",
    "STATE_FIELDS",
    "SPARSE_VECTOR",
    "RRF_K",
    "HYBRID_CANDIDATES",
    "cosine",
    "fused_order",
]

# Keyword indexes that make per-document and per-source filters cheap.
PAYLOAD_INDEXES = ("doc_id", "source", "sets")
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


@dataclass(frozen=True)
class DocumentState:
    """What the store holds of one document, as the incremental indexer needs it."""

    doc_id: str
    source: str
    content_hashes: frozenset[str]
    chunk_count: int  # live points stored
    expected_chunks: int  # chunk_count recorded in the payloads
    stale_points: int = 0  # tombstones left by an interrupted update
    index_end: int = 0  # 1 + the highest chunk index stored, tombstones included
    sets: frozenset[str] = frozenset()  # document sets on the live chunks
    etag: str = ""  # HTTP validators the page was fetched with (web sources)
    last_modified: str = ""

    @property
    def consistent(self) -> bool:
        return len(self.content_hashes) == 1 and self.chunk_count == self.expected_chunks and not self.stale_points

    @property
    def content_hash(self) -> str | None:
        return next(iter(self.content_hashes)) if len(self.content_hashes) == 1 else None


class Store(Protocol):
    backend_name: str

    def ensure_collection(self, dimension: int, model_name: str) -> None:
        """Create the collection, or fail with StoreMismatch if it was built for another model."""

    def collection_exists(self) -> bool: ...

    def replace_document(self, chunks: Sequence[Chunk], vectors: np.ndarray, previous_count: int = 0) -> None:
        """Make the document's stored chunks exactly ``chunks``.

        One atomic upsert writes the new chunks and turns chunks ``len(chunks)..previous_count-1``
        of the old version into tombstones that searches skip; a second call then deletes the
        tombstones. A crash between the two leaves only harmless tombstones.
        """

    def delete_document(self, doc_id: str) -> None: ...

    hybrid: bool  # the collection holds keyword (sparse) vectors beside the dense ones

    def search(
        self,
        vector: np.ndarray,
        k: int,
        source: str | None = None,
        sets: Collection[str] | None = None,
        text: str | None = None,
    ) -> list[Passage]:
        """Nearest live chunks; with ``sets``, only chunks in at least one of them (a Qdrant filter).

        With ``text`` on a hybrid collection, the dense and keyword candidate lists are fused by
        reciprocal rank inside Qdrant; each passage's score is still its dense cosine.
        """

    def fetch(self, point_ids: Sequence[str]) -> list[Passage]:
        """The live chunks with these point ids (see :func:`bot.models.point_id`), score 0; missing
        ids and tombstones are left out."""

    def document_states(self, source: str | None = None) -> dict[str, DocumentState]: ...

    def count(self, source: str | None = None) -> int: ...

    def finish_batch(self) -> None:
        """Called after an indexing pass: flush, build indexes."""

    def close(self) -> None: ...


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


SPARSE_VECTOR = "bm25"  # name of the keyword vector in hybrid collections
RRF_K = 60  # the usual reciprocal-rank-fusion constant
HYBRID_CANDIDATES = 4  # each half of a hybrid search proposes this many times k


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


def live_passages(payloads: list[dict[str, Any] | None]) -> list[Passage]:
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


def fused_order(scored: list[tuple[float, Passage]]) -> list[Passage]:
    """Passages ranked by fused (RRF) score, ties broken by cosine: equal RRF scores are common
    (dense rank 1 + keyword rank 3 equals dense 3 + keyword 1), and the engine orders ties arbitrarily."""
    ranked = sorted(scored, key=lambda pair: (-round(pair[0], 9), -pair[1].score))
    return [passage for _, passage in ranked]


def cosine(query: np.ndarray, stored: Any) -> float:
    """Cosine of a unit query and a stored vector (Qdrant keeps cosine vectors normalised)."""
    return float(np.dot(query, np.asarray(stored, dtype=np.float32)))
