"""Embedded store on Qdrant Edge: Qdrant's own engine (HNSW, WAL) running in-process.

Chosen as the embedded default by bench/store_latency.py: it answers queries an order of
magnitude faster than qdrant-client's local mode and opens large collections quickly.
One process at a time may open a shard (the WAL is locked).
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

import numpy as np
import qdrant_edge as qe

from bot.config import StoreConfig
from bot.errors import StoreMismatch, StoreUnavailable
from bot.models import Chunk, Passage
from bot.sparse import query_vector
from bot.store.base import (
    HYBRID_CANDIDATES,
    MODEL_KEY,
    PAYLOAD_INDEXES,
    RRF_K,
    SPARSE_VECTOR,
    STATE_FIELDS,
    DocumentState,
    PointWrite,
    check_model_fits,
    collect_states,
    cosine,
    fused_order,
    index_metadata,
    live_passages,
    passage_from_payload,
    replacement_points,
)

__all__ = ["EdgeStore"]

_SCROLL_PAGE = 1024
_NO_SET = "\x00none"  # matches nothing: an empty allow-list must not mean "everything"


def _locked(method: Callable) -> Callable:
    """One shard call at a time: a serving process answers and reindexes from several threads."""

    @functools.wraps(method)
    def wrapper(self: EdgeStore, *args, **kwargs):  # type: ignore[no-untyped-def]
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


class EdgeStore:
    backend_name = "embedded (qdrant-edge)"

    def __init__(self, path: Path, config: StoreConfig) -> None:
        self.path = path
        self.config = config
        self._shard: qe.EdgeShard | None = None
        self._meta_path = path / "ragbot-meta.json"
        self._lock = threading.RLock()
        self.hybrid = False
        if self._meta_path.exists():
            self._shard = self._open_existing()
            # Indexes built before keyword search existed stay dense-only until rebuilt.
            self.hybrid = self.meta().get("sparse") == SPARSE_VECTOR

    # -- lifecycle -----------------------------------------------------------------
    def _open_existing(self) -> qe.EdgeShard:
        try:
            return qe.EdgeShard.load(str(self.path / "shard"))
        except Exception as exc:  # the binding raises plain Exception subclasses
            if "WouldBlock" in str(exc) or "lock" in str(exc).lower():
                raise StoreUnavailable(
                    f"the embedded index at {self.path} is in use by another ragbot process; "
                    "stop it (or wait for it to finish), or run a Qdrant server and set QDRANT_URL"
                ) from None
            raise StoreUnavailable(f"cannot open the embedded index at {self.path}: {exc}") from None

    def collection_exists(self) -> bool:
        return self._shard is not None

    def probe(self) -> bool:
        return self.collection_exists()  # in-process: nothing to reach

    @_locked
    def ensure_collection(self, dimension: int, model_name: str, encoder: str = "") -> None:
        if self._shard is not None:
            meta = self.meta()
            if meta["dimension"] != dimension:
                raise StoreMismatch(
                    f"the index at {self.path} holds {meta['dimension']}-d vectors from "
                    f"{meta.get('model')!r}, but the embedding model {model_name!r} makes {dimension}-d vectors; "
                    "set [embedding] model back, or use another data dir / collection, "
                    "or point RAGBOT_DATA_DIR at a new folder to build a fresh index"
                )
            # Older meta files call the model "model"; the oldest name none.
            recorded = {**meta, MODEL_KEY: meta.get(MODEL_KEY) or meta.get("model")}
            check_model_fits(f"the index at {self.path}", recorded, model_name, encoder)
            return
        hnsw = qe.HnswIndexConfig(
            m=self.config.hnsw_m, ef_construct=self.config.hnsw_ef_construct, full_scan_threshold=10_000
        )
        quantization = (
            qe.ScalarQuantizationConfig(type=qe.ScalarType.Int8, quantile=0.99, always_ram=True)
            if self.config.quantization == "int8"
            else None
        )
        vectors = qe.EdgeVectorParams(
            size=dimension, distance=qe.Distance.Cosine, on_disk=self.config.on_disk, quantization_config=quantization
        )
        sparse = {SPARSE_VECTOR: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)}
        config = qe.EdgeConfig(vectors=vectors, sparse_vectors=sparse, hnsw_config=hnsw)
        self.path.mkdir(parents=True, exist_ok=True)
        shard = qe.EdgeShard.create(str(self.path / "shard"), config)
        for field in PAYLOAD_INDEXES:
            shard.update(qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Keyword))
        shard.update(qe.UpdateOperation.create_field_index("stale", qe.PayloadSchemaType.Bool))
        shard.flush()
        self._shard = shard
        # Written last: a shard without its meta file is an unfinished create.
        meta = {**index_metadata(dimension, model_name, encoder), "model": model_name, "sparse": SPARSE_VECTOR}
        self._meta_path.write_text(json.dumps(meta))
        self.hybrid = True

    def meta(self) -> dict[str, object]:
        return json.loads(self._meta_path.read_text()) if self._meta_path.exists() else {}

    @_locked
    def close(self) -> None:
        if self._shard is not None:
            self._shard.flush()
            self._shard.close()
            self._shard = None

    @_locked
    def finish_batch(self) -> None:
        shard = self._require()
        shard.optimize()  # builds HNSW for large segments; a no-op when nothing changed
        shard.flush()

    # -- writes --------------------------------------------------------------------
    @_locked
    def replace_document(self, chunks: Sequence[Chunk], vectors: np.ndarray, previous_count: int = 0) -> None:
        shard = self._require()
        if not chunks:
            return
        writes, stale = replacement_points(chunks, vectors, previous_count)
        points = [qe.Point(id=w.id, vector=self._vectors(w), payload=w.payload) for w in writes]
        # One WAL record: after a crash the document is wholly old or wholly new.
        shard.update(qe.UpdateOperation.upsert_points(points))
        if stale:
            shard.update(qe.UpdateOperation.delete_points(stale))

    def _vectors(self, write: PointWrite) -> qe.Vector:
        if not self.hybrid:
            return write.vector
        vectors: dict[str, qe.NamedVector] = {"": write.vector}
        if write.sparse and write.sparse[0]:
            vectors[SPARSE_VECTOR] = qe.SparseVector(*write.sparse)
        return vectors

    @_locked
    def delete_document(self, doc_id: str) -> None:
        self._require().update(qe.UpdateOperation.delete_points_by_filter(qe.Filter(must=[_match("doc_id", doc_id)])))

    # -- reads ---------------------------------------------------------------------
    @_locked
    def search(
        self,
        vector: np.ndarray,
        k: int,
        source: str | None = None,
        sets: Collection[str] | None = None,
        text: str | None = None,
        keywords_only: bool = False,
    ) -> list[Passage]:
        if self._shard is None:
            return []
        dense = qe.Query.Nearest(vector.astype(float).tolist())
        live = _live_filter(source, sets)
        params = qe.SearchParams(hnsw_ef=self.config.hnsw_ef)
        keywords = query_vector(text) if text and self.hybrid else None
        if not keywords or not keywords[0]:
            request = qe.QueryRequest(limit=k, query=dense, with_payload=True, filter=live, params=params)
            return [passage_from_payload(hit.payload or {}, hit.score) for hit in self._shard.query(request)]
        if keywords_only:
            request = qe.QueryRequest(
                limit=k,
                query=qe.Query.Nearest(qe.SparseVector(*keywords), using=SPARSE_VECTOR),
                filter=live,
                with_payload=True,
                with_vector=[""],
            )
            return [
                passage_from_payload(hit.payload or {}, cosine(vector, hit.vector))
                for hit in self._shard.query(request)
            ]
        candidates = k * HYBRID_CANDIDATES
        request = qe.QueryRequest(
            limit=k,
            prefetches=[
                qe.Prefetch(limit=candidates, query=dense, filter=live, params=params),
                qe.Prefetch(
                    limit=candidates,
                    query=qe.Query.Nearest(qe.SparseVector(*keywords), using=SPARSE_VECTOR),
                    filter=live,
                ),
            ],
            query=qe.Fusion.Rrf(k=RRF_K),
            with_payload=True,
            with_vector=[""],
        )
        return fused_order(
            [
                (hit.score, passage_from_payload(hit.payload or {}, cosine(vector, hit.vector)))
                for hit in self._shard.query(request)
            ]
        )

    @_locked
    def fetch(self, point_ids: Sequence[str]) -> list[Passage]:
        if self._shard is None or not point_ids:
            return []
        records = self._shard.retrieve(list(point_ids), with_payload=True, with_vector=False)
        return live_passages([record.payload for record in records])

    @_locked
    def document_states(self, source: str | None = None) -> dict[str, DocumentState]:
        if self._shard is None:
            return {}
        payloads: list[dict] = []
        offset = None
        while True:
            records, offset = self._shard.scroll(
                qe.ScrollRequest(
                    offset=offset, limit=_SCROLL_PAGE, filter=_source_filter(source), with_payload=STATE_FIELDS
                )
            )
            payloads.extend(record.payload or {} for record in records)
            if offset is None:
                break
        return collect_states(payloads)

    @_locked
    def count(self, source: str | None = None) -> int:
        if self._shard is None:
            return 0
        return self._shard.count(qe.CountRequest(exact=True, filter=_source_filter(source)))

    def _require(self) -> qe.EdgeShard:
        if self._shard is None:
            raise StoreUnavailable("the embedded index is not created yet; run `ragbot index` first")
        return self._shard


def _match(key: str, value: str) -> qe.FieldCondition:
    return qe.FieldCondition(key=key, match=qe.MatchValue(value))


def _source_filter(source: str | None) -> qe.Filter | None:
    return qe.Filter(must=[_match("source", source)]) if source else None


def _live_filter(source: str | None, sets: Collection[str] | None) -> qe.Filter:
    """Searches skip tombstones of an interrupted update, and chunks outside the allowed sets."""
    must: list[qe.FieldCondition] = [_match("source", source)] if source else []
    if sets is not None:
        must.append(qe.FieldCondition(key="sets", match=qe.MatchAny(sorted(sets) or [_NO_SET])))
    return qe.Filter(
        must=must or None,
        must_not=[qe.FieldCondition(key="stale", match=qe.MatchValue(True))],
    )
