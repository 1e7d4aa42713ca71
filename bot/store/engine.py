"""The one store engine core: everything a store does that doesn't depend on the engine.

Like qdrant-client's ``QdrantBase`` with ``QdrantLocal`` and ``QdrantRemote`` behind it:
:class:`StoreEngine` owns the search (dense, keyword, fused), the tie-breaks, scrolling, the
meaning of the filters (source, document sets, live points), which payload indexes exist, and
the check that a collection fits the model. An engine implements only primitives (``_query``,
``_scroll``, ``_upsert``, ...) on engine-neutral values, so two engines can't disagree.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bot.errors import StoreUnavailable
from bot.models import Chunk, Passage
from bot.sparse import SparseVector, query_vector
from bot.store.base import DocumentState
from bot.store.fit import BUILT_KEYS, check_fits, index_metadata
from bot.store.points import (
    STATE_FIELDS,
    PointWrite,
    collect_states,
    live_passages,
    passage_from_payload,
    replacement_points,
)
from bot.store.query import (
    HYBRID_CANDIDATES,
    SPARSE_VECTOR,
    Hit,
    Leg,
    Query,
    Where,
    contenders,
    cosine,
    fused_order,
    live_where,
    source_where,
    weighted_fusion,
)

__all__ = ["StoreEngine", "Layout", "PAYLOAD_INDEXES"]

SCROLL_PAGE = 1024
# Indexes that make per-document, per-source, per-set and live filters cheap: field -> kind.
PAYLOAD_INDEXES = {"doc_id": "keyword", "source": "keyword", "sets": "keyword", "stale": "bool"}


@dataclass(frozen=True)
class Layout:
    """What an existing collection is: its dense vectors, whether it has keyword ones, its metadata."""

    size: int | None
    distance: str | None
    keywords: bool
    meta: dict[str, Any] = field(default_factory=dict)


class StoreEngine(ABC):
    """A :class:`bot.store.Store` from a handful of engine primitives (the ``_`` methods below)."""

    backend_name: str
    shared_across_machines = False
    where: str  # names the collection in errors: "the index at ...", "collection 'x' at ..."
    # Serialises public calls where the engine needs it (Edge: one shard call at a time).
    _guard: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()

    def __init__(self) -> None:
        self._exists: bool | None = None
        self._hybrid: bool | None = None

    # -- primitives each engine implements ---------------------------------------------
    @abstractmethod
    def _ask_exists(self) -> bool:
        """Whether the collection exists, asked now."""

    @abstractmethod
    def _layout(self) -> Layout:
        """What the existing collection is."""

    @abstractmethod
    def _create(self, dimension: int, meta: dict[str, Any], indexes: dict[str, str]) -> None:
        """Make a cosine collection of ``dimension``-d vectors with the keyword vector, recording
        ``meta`` and creating the payload ``indexes`` (field -> "keyword" | "bool")."""

    @abstractmethod
    def _write_meta(self, values: dict[str, Any]) -> None:
        """Merge ``values`` into the recorded metadata; None removes a key."""

    @abstractmethod
    def _sparse(self, keywords: SparseVector) -> Any:
        """The engine's form of a keyword vector, for a point's named vectors."""

    @abstractmethod
    def _upsert(self, points: list[tuple[str, Any, dict[str, Any]]]) -> None:
        """Write (id, vector or named vectors, payload) points in one atomic request."""

    @abstractmethod
    def _delete(self, ids: list[str] | None = None, where: Where | None = None) -> None:
        """Delete the points with these ids, or those matching ``where`` (never an empty filter)."""

    @abstractmethod
    def _query(self, query: Query) -> list[Hit]: ...

    @abstractmethod
    def _query_batch(self, queries: list[Query]) -> list[list[Hit]]:
        """One hit list per query, in order, asked in one request; hits carry their point ids."""

    @abstractmethod
    def _retrieve(self, ids: list[str], dense: bool = False) -> list[Hit]:
        """The points found among ``ids``, with their payloads (and ``dense`` vectors if asked)."""

    @abstractmethod
    def _scroll(self, where: Where, limit: int, offset: Any, fields: list[str]) -> tuple[list[dict[str, Any]], Any]:
        """One page of payloads (only ``fields``) and the next page's offset (None: last page)."""

    @abstractmethod
    def _count(self, where: Where) -> int: ...

    @abstractmethod
    def finish_batch(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    # -- the Store protocol ------------------------------------------------------------
    def collection_exists(self) -> bool:
        with self._guard:
            if self._exists is None:
                self._exists = self._ask_exists()
            return self._exists

    def probe(self) -> bool:
        with self._guard:
            self._exists = self._ask_exists()
            if not self._exists:  # deleted behind our back (or never made): forget what was cached
                self._hybrid = None
            return self._exists

    @property
    def hybrid(self) -> bool:
        with self._guard:
            if self._hybrid is None:
                if not self.collection_exists():
                    return False
                self._hybrid = self._layout().keywords
            return self._hybrid

    def ensure_collection(self, dimension: int, model_name: str, encoder: str = "") -> None:
        with self._guard:
            if self.collection_exists():
                layout = self._layout()
                check_fits(self.where, layout.size, layout.distance, layout.meta, dimension, model_name, encoder)
                return
            self._create(dimension, index_metadata(dimension, model_name, encoder), dict(PAYLOAD_INDEXES))
            self._exists = self._hybrid = True

    def meta(self) -> dict[str, Any]:
        with self._guard:
            return dict(self._layout().meta) if self.collection_exists() else {}

    def update_meta(self, values: dict[str, Any]) -> None:
        fixed = sorted(BUILT_KEYS & set(values))
        if fixed:
            raise ValueError(
                f"update_meta can't change {', '.join(fixed)}: the stored vectors are what they were built as; "
                "a new model needs a new index"
            )
        with self._guard:
            self._require_collection()
            self._write_meta(dict(values))

    def replace_document(self, chunks: Sequence[Chunk], vectors: np.ndarray, previous_count: int = 0) -> None:
        with self._guard:
            self._require_collection()
            if not chunks:
                return
            writes, stale = replacement_points(chunks, vectors, previous_count)
            # One request: after a crash the document is wholly old or wholly new.
            self._upsert([(w.id, self._vectors(w), w.payload) for w in writes])
            if stale:
                self._delete(ids=stale)

    def _vectors(self, write: PointWrite) -> Any:
        if not self.hybrid:
            return write.vector
        vectors: dict[str, Any] = {"": write.vector}
        if write.sparse and write.sparse[0]:
            vectors[SPARSE_VECTOR] = self._sparse(write.sparse)
        return vectors

    def delete_document(self, doc_id: str) -> None:
        with self._guard:
            self._require_collection()
            self._delete(where=Where(must=(("doc_id", doc_id),)))

    def search(
        self,
        vector: np.ndarray,
        k: int,
        source: str | None = None,
        sets: Collection[str] | None = None,
        text: str | None = None,
        keywords_only: bool = False,
    ) -> list[Passage]:
        with self._guard:
            if not self.collection_exists():
                return []
            live = live_where(source, sets)
            dense = vector.astype(float).tolist()
            keywords = query_vector(text) if text and self.hybrid else None
            if not keywords or not keywords[0]:
                hits = self._query(Query((Leg(k, live, dense),), k))
                return [passage_from_payload(hit.payload, hit.score) for hit in hits]
            if keywords_only:
                hits = self._query(Query((Leg(k, live, keywords),), k, with_dense=True))
                return [passage_from_payload(hit.payload, cosine(vector, hit.dense)) for hit in hits]
            candidates = k * HYBRID_CANDIDATES
            legs = (Leg(candidates, live, dense), Leg(candidates, live, keywords))
            hits = self._query(Query(legs, k, with_dense=True))
            return fused_order(
                [(hit.score, passage_from_payload(hit.payload, cosine(vector, hit.dense))) for hit in hits]
            )

    def weighted_search(
        self,
        vector: np.ndarray,
        text: str,
        k: int,
        keyword_weight: float,
        source: str | None = None,
        sets: Collection[str] | None = None,
    ) -> list[Passage]:
        # Both legs rank on ids and scores alone, in one batch; only the fused keepers are read
        # back (about 20 payloads, not 160 and 80 vectors: docs/benchmarks.md 20.1). Without
        # keywords the keyword leg is the dense one, as a keyword search for such text always was.
        with self._guard:
            if not self.collection_exists():
                return []
            live, candidates = live_where(source, sets), k * HYBRID_CANDIDATES
            legs = [Leg(candidates, live, vector.astype(float).tolist())]
            keywords = query_vector(text) if self.hybrid else None
            if keywords and keywords[0]:
                legs.append(Leg(candidates, live, keywords))
            ranked = self._query_batch([Query((leg,), candidates, with_payload=False) for leg in legs])
            dense_ids = [hit.id for hit in ranked[0]]
            keyword_ids = [hit.id for hit in ranked[-1]]
            fused = weighted_fusion(((1.0, dense_ids), (keyword_weight, keyword_ids)))
            cosines = {hit.id: hit.score for hit in ranked[0]}
            keep = contenders(fused, k)
            found = self._retrieve(keep, dense=any(pid not in cosines for pid in keep))
            scored = {
                hit.id: passage_from_payload(
                    hit.payload, cosines[hit.id] if hit.id in cosines else cosine(vector, hit.dense)
                )
                for hit in found
            }
            order = [pid for pid in keep if pid in scored]  # a point deleted meanwhile is left out
            return [scored[pid] for pid in sorted(order, key=lambda pid: (-fused[pid], -scored[pid].score))][:k]

    def fetch(self, point_ids: Sequence[str]) -> list[Passage]:
        with self._guard:
            if not point_ids or not self.collection_exists():
                return []
            return live_passages([hit.payload for hit in self._retrieve(list(point_ids))])

    def vectors(self, point_ids: Sequence[str]) -> np.ndarray:
        with self._guard:
            self._require_collection()
            found = {hit.id: hit.dense for hit in self._retrieve(list(point_ids), dense=True)}
            missing = [pid for pid in point_ids if pid not in found]
            if missing:
                raise KeyError(f"{len(missing)} of the requested points are not in {self.where}, e.g. {missing[0]}")
            return np.asarray([found[pid] for pid in point_ids], dtype=np.float32)

    def document_states(self, source: str | None = None) -> dict[str, DocumentState]:
        with self._guard:
            if not self.collection_exists():
                return {}
            payloads: list[dict[str, Any]] = []
            offset = None
            while True:
                page, offset = self._scroll(source_where(source), SCROLL_PAGE, offset, STATE_FIELDS)
                payloads.extend(page)
                if offset is None:
                    return collect_states(payloads)

    def count(self, source: str | None = None) -> int:
        with self._guard:
            return self._count(source_where(source)) if self.collection_exists() else 0

    def _require_collection(self) -> None:
        if not self.collection_exists():
            raise StoreUnavailable(f"{self.where} is not created yet; run `ragbot index` first")
