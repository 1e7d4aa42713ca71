"""The one small interface every vector store engine implements.

The indexer and the retriever only talk to this protocol; whether the points live in
an embedded engine or on a Qdrant server is decided once, in :func:`bot.store.open_store`.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np

from bot.errors import StoreMismatch
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
    "MODEL_KEY",
    "ENCODER_KEY",
    "index_metadata",
    "check_model_fits",
]

log = logging.getLogger(__name__)

# What built the vectors, stored with the collection (Qdrant collection metadata; the Edge
# store's meta file): two models with the same dimension still make incomparable vectors.
MODEL_KEY = "embedding_model"
# Room for a fingerprint of a document encoder trained for this index (None until one exists).
ENCODER_KEY = "document_encoder"
_warned_unknown: set[str] = set()

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

    def ensure_collection(self, dimension: int, model_name: str, encoder: str = "") -> None:
        """Create the collection (recording ``model_name`` and ``encoder``), or fail with
        StoreMismatch if it was built for another model: another dimension, another recorded
        model name, or another recorded document-encoder fingerprint. Collections made before the
        name was recorded are accepted with a warning (once per collection and process)."""

    def collection_exists(self) -> bool: ...

    def probe(self) -> bool:
        """Ask the engine now, bypassing any cache, whether the collection exists.

        For readiness checks; raises StoreUnavailable when the engine can't be reached."""
        ...

    def meta(self) -> dict[str, object]:
        """What the collection records about how it was built (model name, ...); {} if nothing."""
        ...

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
        keywords_only: bool = False,
    ) -> list[Passage]:
        """Nearest live chunks; with ``sets``, only chunks in at least one of them (a Qdrant filter).

        With ``text`` on a hybrid collection, the dense and keyword candidate lists are fused by
        reciprocal rank inside Qdrant; each passage's score is still its dense cosine. With
        ``keywords_only`` as well, only the keyword half ranks (for measuring each half alone).
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


def index_metadata(dimension: int, model_name: str, encoder: str = "") -> dict[str, Any]:
    """What a new collection records about the vectors it will hold."""
    return {"dimension": dimension, MODEL_KEY: model_name, ENCODER_KEY: encoder or None}


def _same_model(a: str, b: str) -> bool:
    """The same model under two spellings: ``all-MiniLM-L6-v2`` is ``sentence-transformers/all-MiniLM-L6-v2``."""

    def norm(name: str) -> str:
        return name.strip().rstrip("/").removeprefix("sentence-transformers/").lower()

    return norm(a) == norm(b)


def check_model_fits(where: str, meta: dict[str, Any], model_name: str, encoder: str = "") -> None:
    """StoreMismatch unless the collection at ``where`` was built by ``model_name`` (and ``encoder``).

    ``meta`` is what the collection recorded (see :func:`index_metadata`); an old collection
    that recorded no model name is accepted with one warning, since its model is unknown."""
    built_with = meta.get(MODEL_KEY)
    if not built_with:
        if where not in _warned_unknown:
            _warned_unknown.add(where)
            log.warning(
                "%s does not record which embedding model built it; assuming %r. If answers look unrelated "
                "to questions, rebuild it (`ragbot index --full` into a new collection or data dir)",
                where,
                model_name,
            )
        return
    fix = (
        f"set [embedding] model (RAGBOT_EMBEDDING_MODEL) back to {built_with!r}, or build a new index with "
        f"the new model: set RAGBOT_COLLECTION to a new name (Qdrant server) or RAGBOT_DATA_DIR to a new "
        "folder (embedded), then run `ragbot index`"
    )
    if not _same_model(str(built_with), model_name):
        raise StoreMismatch(
            f"{where} was built with the embedding model {built_with!r}, but [embedding] model is {model_name!r}; "
            f"vectors of two models can't be compared even at the same dimension. To fix: {fix}"
        )
    stored_encoder = meta.get(ENCODER_KEY)
    if stored_encoder and encoder and stored_encoder != encoder:
        raise StoreMismatch(
            f"{where} was built with document encoder {stored_encoder!r}, but this process uses {encoder!r}; "
            f"to fix: {fix}"
        )
