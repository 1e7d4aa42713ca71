"""Store on qdrant-client: a Qdrant server (``QDRANT_URL``) or qdrant-client's local mode.

Local mode implements the same API as the server in-process, so the contract tests run this
class against it to cover the server code path without a server.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from bot.config import StoreConfig
from bot.errors import StoreError, StoreMismatch, StoreUnavailable
from bot.logs import mask_url
from bot.models import Chunk, Passage
from bot.sparse import query_vector
from bot.store.base import (
    HYBRID_CANDIDATES,
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

__all__ = ["QdrantClientStore"]

_SCROLL_PAGE = 1024
_NO_SET = "\x00none"  # matches nothing: an empty allow-list must not mean "everything"
_UNREACHABLE = (ResponseHandlingException, ConnectionError, TimeoutError, OSError)
# A proxy or load balancer in front of Qdrant answers these while Qdrant itself is down.
_UPSTREAM_DOWN = {502, 503, 504}


class QdrantClientStore:
    def __init__(self, collection: str, config: StoreConfig, local_path: Path | None = None) -> None:
        self.collection = collection
        self.config = config
        if config.url:
            self.backend_name = "qdrant server"
            self.location = mask_url(config.url)  # shown in errors and /readyz: never the credentials
            self.client = QdrantClient(url=config.url, api_key=config.api_key or None, timeout=int(config.timeout_s))
        else:
            assert local_path is not None
            self.backend_name = "embedded (qdrant-client local mode)"
            self.location = str(local_path)
            local_path.mkdir(parents=True, exist_ok=True)
            try:
                self.client = QdrantClient(path=str(local_path))
            except RuntimeError as exc:  # portalocker: another process holds the folder
                raise StoreUnavailable(
                    f"the embedded index at {local_path} is in use by another ragbot process ({exc}); "
                    "stop it, or run a Qdrant server and set QDRANT_URL"
                ) from None
        self._exists: bool | None = None
        self._hybrid: bool | None = None
        # Local mode searches exhaustively and ignores payload indexes and HNSW settings.
        self._is_server = bool(config.url)

    def _call(self, what: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        """Run one client call; unreachable (connection failures, 502/503/504 from a proxy) becomes
        StoreUnavailable, any other refusal StoreError: callers choose by type."""
        try:
            return fn(*args, **kwargs)
        except _UNREACHABLE as exc:
            raise StoreUnavailable(
                f"qdrant unreachable at {self.location} (while trying to {what}: {exc}); "
                "check that the server is running and QDRANT_URL / QDRANT_API_KEY are right"
            ) from None
        except UnexpectedResponse as exc:
            if exc.status_code in _UPSTREAM_DOWN:
                raise StoreUnavailable(
                    f"qdrant unreachable at {self.location} (while trying to {what}: HTTP {exc.status_code} "
                    f"from a proxy in front of it); check that the server is running"
                ) from None
            raise StoreError(f"Qdrant at {self.location} refused to {what}: {exc}") from None

    def collection_exists(self) -> bool:
        if self._exists is None:
            self._exists = bool(self._call("check the collection", self.client.collection_exists, self.collection))
        return self._exists

    def probe(self) -> bool:
        exists = bool(self._call("check the collection", self.client.collection_exists, self.collection))
        if not exists:  # deleted behind our back (or never made): forget what was cached
            self._exists = None
            self._hybrid = None
        return exists

    @property
    def hybrid(self) -> bool:
        """The collection has the keyword vector (collections made before it existed do not)."""
        if self._hybrid is None:
            if not self.collection_exists():
                return False
            info = self._call("read the collection", self.client.get_collection, self.collection)
            self._hybrid = SPARSE_VECTOR in (info.config.params.sparse_vectors or {})
        return self._hybrid

    def ensure_collection(self, dimension: int, model_name: str, encoder: str = "") -> None:
        if self.collection_exists():
            info = self._call("read the collection", self.client.get_collection, self.collection)
            params = info.config.params.vectors
            size = params.size if isinstance(params, models.VectorParams) else None
            distance = params.distance if isinstance(params, models.VectorParams) else None
            if size != dimension or distance != models.Distance.COSINE:
                raise StoreMismatch(
                    f"collection {self.collection!r} holds {size}-d {distance} vectors, but the embedding "
                    f"model {model_name!r} makes {dimension}-d cosine vectors; set [embedding] model back, "
                    "or set RAGBOT_COLLECTION to a new name"
                )
            check_model_fits(
                f"collection {self.collection!r} at {self.location}", info.config.metadata or {}, model_name, encoder
            )
            return
        self._call(
            "create the collection",
            self.client.create_collection,
            self.collection,
            **self.collection_params(dimension),
            metadata=index_metadata(dimension, model_name, encoder),
        )
        if self._is_server:
            self._create_payload_indexes()
        self._exists = True

    def collection_params(self, dimension: int) -> dict:
        """create_collection arguments from [store]: vectors, HNSW, sharding, replication, quantisation."""
        config = self.config
        quantization = None
        if config.quantization == "int8":
            quantization = models.ScalarQuantization(
                scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, quantile=0.99, always_ram=True)
            )
        return {
            "vectors_config": models.VectorParams(
                size=dimension, distance=models.Distance.COSINE, on_disk=config.on_disk
            ),
            "hnsw_config": models.HnswConfigDiff(m=config.hnsw_m, ef_construct=config.hnsw_ef_construct),
            "shard_number": config.shard_number,
            "replication_factor": config.replication_factor,
            "write_consistency_factor": config.write_consistency_factor,
            "quantization_config": quantization,
            "sparse_vectors_config": {SPARSE_VECTOR: models.SparseVectorParams(modifier=models.Modifier.IDF)},
        }

    def _create_payload_indexes(self) -> None:
        for field in PAYLOAD_INDEXES:
            self._call(
                "create a payload index",
                self.client.create_payload_index,
                self.collection,
                field_name=field,
                field_schema=models.PayloadSchemaType.KEYWORD,
            )
        self._call(
            "create a payload index",
            self.client.create_payload_index,
            self.collection,
            field_name="stale",
            field_schema=models.PayloadSchemaType.BOOL,
        )

    def replace_document(self, chunks: Sequence[Chunk], vectors: np.ndarray, previous_count: int = 0) -> None:
        if not chunks:
            return
        writes, stale = replacement_points(chunks, vectors, previous_count)
        points = [models.PointStruct(id=w.id, vector=self._vectors(w), payload=w.payload) for w in writes]
        # One request, one WAL entry on the server: the document is wholly old or wholly new.
        self._call("write chunks", self.client.upsert, self.collection, points=points, wait=True)
        if stale:
            selector = models.PointIdsList(points=stale)
            self._call("delete stale chunks", self.client.delete, self.collection, points_selector=selector, wait=True)

    def _vectors(self, write: PointWrite) -> list[float] | dict:
        if not self.hybrid:
            return write.vector
        vectors: dict = {"": write.vector}
        if write.sparse and write.sparse[0]:
            vectors[SPARSE_VECTOR] = models.SparseVector(indices=write.sparse[0], values=write.sparse[1])
        return vectors

    def delete_document(self, doc_id: str) -> None:
        selector = models.Filter(must=[models.FieldCondition(key="doc_id", match=models.MatchValue(value=doc_id))])
        self._call("delete a document", self.client.delete, self.collection, points_selector=selector, wait=True)

    def search(
        self,
        vector: np.ndarray,
        k: int,
        source: str | None = None,
        sets: Collection[str] | None = None,
        text: str | None = None,
        keywords_only: bool = False,
    ) -> list[Passage]:
        if not self.collection_exists():
            return []
        dense = vector.astype(float).tolist()
        live = _live_filter(source, sets)
        keywords = query_vector(text) if text and self.hybrid else None
        if not keywords or not keywords[0]:
            response = self._call(
                "search",
                self.client.query_points,
                self.collection,
                query=dense,
                limit=k,
                query_filter=live,
                with_payload=True,
                search_params=self._search_params(),
            )
            return [passage_from_payload(point.payload or {}, point.score) for point in response.points]
        if keywords_only:
            response = self._call(
                "search",
                self.client.query_points,
                self.collection,
                query=models.SparseVector(indices=keywords[0], values=keywords[1]),
                using=SPARSE_VECTOR,
                limit=k,
                query_filter=live,
                with_payload=True,
                with_vectors=[""],
            )
            return [
                passage_from_payload(point.payload or {}, cosine(vector, _dense_of(point.vector)))
                for point in response.points
            ]
        candidates = k * HYBRID_CANDIDATES
        response = self._call(
            "search",
            self.client.query_points,
            self.collection,
            prefetch=[
                models.Prefetch(query=dense, limit=candidates, filter=live, params=self._search_params()),
                models.Prefetch(
                    query=models.SparseVector(indices=keywords[0], values=keywords[1]),
                    using=SPARSE_VECTOR,
                    limit=candidates,
                    filter=live,
                ),
            ],
            query=models.RrfQuery(rrf=models.Rrf(k=RRF_K)),
            limit=k,
            with_payload=True,
            with_vectors=[""],
        )
        return fused_order(
            [
                (point.score, passage_from_payload(point.payload or {}, cosine(vector, _dense_of(point.vector))))
                for point in response.points
            ]
        )

    def _search_params(self) -> models.SearchParams | None:
        if not self._is_server:
            return None  # local mode searches exhaustively
        rescore = models.QuantizationSearchParams(rescore=True) if self.config.quantization != "none" else None
        return models.SearchParams(hnsw_ef=self.config.hnsw_ef, quantization=rescore)

    def fetch(self, point_ids: Sequence[str]) -> list[Passage]:
        if not point_ids or not self.collection_exists():
            return []
        records = self._call(
            "fetch chunks", self.client.retrieve, self.collection, ids=list(point_ids), with_payload=True
        )
        return live_passages([record.payload for record in records])

    def document_states(self, source: str | None = None) -> dict[str, DocumentState]:
        if not self.collection_exists():
            return {}
        payloads: list[dict] = []
        offset = None
        while True:
            records, offset = self._call(
                "list documents",
                self.client.scroll,
                self.collection,
                scroll_filter=_source_filter(source),
                limit=_SCROLL_PAGE,
                offset=offset,
                with_payload=STATE_FIELDS,
                with_vectors=False,
            )
            payloads.extend(record.payload or {} for record in records)
            if offset is None:
                break
        return collect_states(payloads)

    def count(self, source: str | None = None) -> int:
        if not self.collection_exists():
            return 0
        result = self._call(
            "count points", self.client.count, self.collection, count_filter=_source_filter(source), exact=True
        )
        return int(result.count)

    def meta(self) -> dict[str, object]:
        if not self.collection_exists():
            return {}
        info = self._call("read the collection", self.client.get_collection, self.collection)
        return dict(info.config.metadata or {})

    def finish_batch(self) -> None:
        """Qdrant indexes in the background; nothing to do."""

    def close(self) -> None:
        self.client.close()


def _source_filter(source: str | None) -> models.Filter | None:
    if not source:
        return None
    return models.Filter(must=[models.FieldCondition(key="source", match=models.MatchValue(value=source))])


def _live_filter(source: str | None, sets: Collection[str] | None) -> models.Filter:
    """Searches skip tombstones of an interrupted update, and chunks outside the allowed sets."""
    scoped = _source_filter(source)
    must = list(scoped.must) if scoped and scoped.must else []
    if sets is not None:
        must.append(models.FieldCondition(key="sets", match=models.MatchAny(any=sorted(sets) or [_NO_SET])))
    return models.Filter(
        must=must or None,
        must_not=[models.FieldCondition(key="stale", match=models.MatchValue(value=True))],
    )


def _dense_of(stored: object) -> object:
    return stored.get("", stored) if isinstance(stored, dict) else stored
