"""Embedded store on Qdrant Edge: Qdrant's own engine (HNSW, WAL) running in-process.

Chosen as the embedded default by bench/store_latency.py: it answers queries an order of
magnitude faster than qdrant-client's local mode and opens large collections quickly.
One process at a time may open a shard (the WAL is locked). Only the primitives live here;
search, filters and the model check are :class:`bot.store.engine.StoreEngine`'s.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import qdrant_edge as qe

from bot.config import StoreConfig
from bot.errors import StoreUnavailable
from bot.sparse import SparseVector
from bot.store.engine import Layout, StoreEngine
from bot.store.fit import DISTANCE, MODEL_KEY
from bot.store.query import SPARSE_VECTOR, Condition, Hit, Leg, Query, Where

__all__ = ["EdgeStore"]

_INDEX_KINDS = {"keyword": qe.PayloadSchemaType.Keyword, "bool": qe.PayloadSchemaType.Bool}
# Meta-file keys that are the engine's own bookkeeping, not the collection's metadata.
_OWN_KEYS = ("model", "sparse")


class EdgeStore(StoreEngine):
    backend_name = "embedded (qdrant-edge)"

    def __init__(self, path: Path, config: StoreConfig) -> None:
        super().__init__()
        self.path = path
        self.config = config
        self.where = f"the index at {path}"
        self._shard: qe.EdgeShard | None = None
        self._meta_path = path / "ragbot-meta.json"
        self._guard = threading.RLock()  # one shard call at a time: serve answers and reindexes in threads
        if self._meta_path.exists():  # a shard without its meta file is an unfinished create
            self._shard = self._open_existing()

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

    @property
    def shard(self) -> qe.EdgeShard:
        if self._shard is None:
            raise StoreUnavailable(f"{self.where} is not created yet; run `ragbot index` first")
        return self._shard

    def _ask_exists(self) -> bool:
        return self._shard is not None  # in-process: nothing to reach

    def _raw_meta(self) -> dict[str, Any]:
        return json.loads(self._meta_path.read_text()) if self._meta_path.exists() else {}

    def _layout(self) -> Layout:
        raw = self._raw_meta()
        # Older meta files call the model "model"; the oldest name none.
        meta = {key: value for key, value in raw.items() if key not in _OWN_KEYS}
        meta[MODEL_KEY] = raw.get(MODEL_KEY) or raw.get("model")
        size, distance = raw.get("dimension"), DISTANCE  # what ragbot always created, if the shard won't say
        with_config = self.path / "shard" / "edge_config.json"
        if with_config.exists():
            dense = json.loads(with_config.read_text()).get("vectors", {}).get("", {})
            size, distance = dense.get("size", size), dense.get("distance", distance)
        # Indexes built before keyword search existed stay dense-only until rebuilt.
        return Layout(size, distance, raw.get("sparse") == SPARSE_VECTOR, meta)

    def _create(self, dimension: int, meta: dict[str, Any], indexes: dict[str, str]) -> None:
        config = self.config
        quantization = (
            qe.ScalarQuantizationConfig(type=qe.ScalarType.Int8, quantile=0.99, always_ram=True)
            if config.quantization == "int8"
            else None
        )
        vectors = qe.EdgeVectorParams(
            size=dimension, distance=qe.Distance.Cosine, on_disk=config.on_disk, quantization_config=quantization
        )
        shard_config = qe.EdgeConfig(
            vectors=vectors,
            sparse_vectors={SPARSE_VECTOR: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
            hnsw_config=qe.HnswIndexConfig(
                m=config.hnsw_m, ef_construct=config.hnsw_ef_construct, full_scan_threshold=config.hnsw_full_scan_kb
            ),
            max_search_threads=config.search_threads or None,
        )
        self.path.mkdir(parents=True, exist_ok=True)
        shard = qe.EdgeShard.create(str(self.path / "shard"), shard_config)
        for name, kind in indexes.items():
            shard.update(qe.UpdateOperation.create_field_index(name, _INDEX_KINDS[kind]))
        shard.flush()
        self._shard = shard
        # Written last: a shard without its meta file is an unfinished create. "model" keeps the
        # file readable by older ragbot versions.
        self._save_meta({**meta, "model": meta[MODEL_KEY], "sparse": SPARSE_VECTOR})

    def _write_meta(self, values: dict[str, Any]) -> None:
        merged = self._raw_meta()
        for key, value in values.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        self._save_meta(merged)

    def _save_meta(self, meta: dict[str, Any]) -> None:
        """Replace the meta file whole: a crash leaves the old file or the new one, never half."""
        partial = self._meta_path.with_suffix(".tmp")
        partial.write_text(json.dumps(meta))
        os.replace(partial, self._meta_path)

    def _sparse(self, keywords: SparseVector) -> qe.SparseVector:
        return qe.SparseVector(*keywords)

    def _upsert(self, points: list[tuple[str, Any, dict[str, Any]]]) -> None:
        # One WAL record: after a crash the document is wholly old or wholly new.
        self.shard.update(qe.UpdateOperation.upsert_points([qe.Point(id=i, vector=v, payload=p) for i, v, p in points]))

    def _delete(self, ids: list[str] | None = None, where: Where | None = None) -> None:
        if ids is not None:
            self.shard.update(qe.UpdateOperation.delete_points(_ids(ids)))
        if where is not None:
            self.shard.update(qe.UpdateOperation.delete_points_by_filter(_filter(where)))

    def _leg(self, leg: Leg) -> dict[str, Any]:
        if isinstance(leg.vector, tuple):
            return {"query": qe.Query.Nearest(self._sparse(leg.vector), using=SPARSE_VECTOR)}
        return {"query": qe.Query.Nearest(leg.vector), "params": qe.SearchParams(hnsw_ef=self.config.hnsw_ef)}

    def _request(self, query: Query) -> qe.QueryRequest:
        wanted: dict[str, Any] = {
            "with_payload": query.with_payload,
            "with_vector": [""] if query.with_dense else False,
        }
        if len(query.legs) == 1:
            leg = query.legs[0]
            return qe.QueryRequest(limit=query.limit, filter=_filter(leg.where), **self._leg(leg), **wanted)
        prefetches = [qe.Prefetch(limit=leg.limit, filter=_filter(leg.where), **self._leg(leg)) for leg in query.legs]
        return qe.QueryRequest(
            limit=query.limit, prefetches=prefetches, query=cast(qe.Fusion, qe.Fusion.Rrf(k=query.rrf_k)), **wanted
        )

    def _query(self, query: Query) -> list[Hit]:
        return _hits(self.shard.query(self._request(query)))

    def _query_batch(self, queries: list[Query]) -> list[list[Hit]]:
        batch = qe.QueryBatchRequest([self._request(query) for query in queries])
        return [_hits(points) for points in self.shard.query_batch(batch)]

    def _retrieve(self, ids: list[str], dense: bool = False) -> list[Hit]:
        records = self.shard.retrieve(_ids(ids), with_payload=True, with_vector=[""] if dense else False)
        return [Hit(0.0, record.payload or {}, record.vector, str(record.id)) for record in records]

    def _scroll(self, where: Where, limit: int, offset: Any, fields: list[str]) -> tuple[list[dict[str, Any]], Any]:
        request = qe.ScrollRequest(offset=offset, limit=limit, filter=_filter(where), with_payload=fields)
        records, offset = self.shard.scroll(request)
        return [record.payload or {} for record in records], offset

    def _count(self, where: Where) -> int:
        return self.shard.count(qe.CountRequest(exact=True, filter=_filter(where)))

    def finish_batch(self) -> None:
        with self._guard:
            self.shard.optimize()  # builds HNSW for large segments; a no-op when nothing changed
            self.shard.flush()

    def close(self) -> None:
        with self._guard:
            if self._shard is not None:
                self._shard.flush()
                self._shard.close()
                self._shard = None


def _hits(points: list[qe.ScoredPoint]) -> list[Hit]:
    return [Hit(point.score, point.payload or {}, point.vector, str(point.id)) for point in points]


def _condition(condition: Condition) -> qe.FieldCondition | qe.IsEmptyCondition:
    key, value = condition
    if value is None:
        return qe.IsEmptyCondition(key)
    return qe.FieldCondition(
        key=key, match=qe.MatchAny(list(value)) if isinstance(value, tuple) else qe.MatchValue(value)
    )


def _filter(where: Where) -> qe.Filter:
    """An empty ``where`` makes a filter that matches every point."""
    return qe.Filter(
        must=[_condition(c) for c in where.must] or None, must_not=[_condition(c) for c in where.must_not] or None
    )


def _ids(ids: list[str]) -> list[int | UUID | str]:
    return list(ids)  # the binding's type for point ids
