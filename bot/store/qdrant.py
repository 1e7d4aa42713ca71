"""Store on qdrant-client: a Qdrant server (``QDRANT_URL``) or qdrant-client's local mode.

Local mode implements the same API as the server in-process, so the contract tests run this
class against it to cover the server code path without a server. Only the primitives live
here; search, filters and the model check are :class:`bot.store.engine.StoreEngine`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from bot.config import StoreConfig
from bot.errors import StoreError, StoreUnavailable
from bot.logs import mask_url
from bot.sparse import SparseVector
from bot.store.engine import Layout, StoreEngine
from bot.store.query import SPARSE_VECTOR, Condition, Hit, Leg, Query, Where

__all__ = ["QdrantClientStore", "connect_server"]

_P = ParamSpec("_P")
_T = TypeVar("_T")
_UNREACHABLE = (ResponseHandlingException, ConnectionError, TimeoutError, OSError)
# A proxy or load balancer in front of Qdrant answers these while Qdrant itself is down.
_UPSTREAM_DOWN = {502, 503, 504}
_INDEX_KINDS = {"keyword": models.PayloadSchemaType.KEYWORD, "bool": models.PayloadSchemaType.BOOL}


def connect_server(config: StoreConfig) -> QdrantClient:
    """A client for the Qdrant server at ``config.url``, with its API key and timeout."""
    return QdrantClient(url=config.url, api_key=config.api_key or None, timeout=int(config.timeout_s))


class QdrantClientStore(StoreEngine):
    def __init__(self, collection: str, config: StoreConfig, local_path: Path | None = None) -> None:
        super().__init__()
        self.collection = collection
        self.config = config
        if config.url:
            self.backend_name = "qdrant server"
            self.location = mask_url(config.url)  # shown in errors and /readyz: never the credentials
            self.client = connect_server(config)
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
        self.where = f"collection {collection!r} at {self.location}"
        # Local mode searches exhaustively and ignores payload indexes and HNSW settings.
        self.shared_across_machines = bool(config.url)

    def _call(self, what: str, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
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

    def _ask_exists(self) -> bool:
        return bool(self._call("check the collection", self.client.collection_exists, self.collection))

    def _layout(self) -> Layout:
        info = self._call("read the collection", self.client.get_collection, self.collection)
        params = info.config.params
        dense = params.vectors if isinstance(params.vectors, models.VectorParams) else None
        return Layout(
            dense.size if dense else None,
            dense.distance.value if dense else None,
            SPARSE_VECTOR in (params.sparse_vectors or {}),
            dict(info.config.metadata or {}),
        )

    def _create(self, dimension: int, meta: dict[str, Any], indexes: dict[str, str]) -> None:
        self._call(
            "create the collection",
            self.client.create_collection,
            self.collection,
            **self.collection_params(dimension),
            metadata=meta,
        )
        if not self.shared_across_machines:
            return  # local mode has no payload indexes
        for name, kind in indexes.items():
            self._call(
                "create a payload index",
                self.client.create_payload_index,
                self.collection,
                field_name=name,
                field_schema=_INDEX_KINDS[kind],
            )

    def collection_params(self, dimension: int) -> dict[str, Any]:
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
            "hnsw_config": models.HnswConfigDiff(
                m=config.hnsw_m, ef_construct=config.hnsw_ef_construct, full_scan_threshold=config.hnsw_full_scan_kb
            ),
            "shard_number": config.shard_number,
            "replication_factor": config.replication_factor,
            "write_consistency_factor": config.write_consistency_factor,
            "quantization_config": quantization,
            "sparse_vectors_config": {SPARSE_VECTOR: models.SparseVectorParams(modifier=models.Modifier.IDF)},
        }

    def _write_meta(self, values: dict[str, Any]) -> None:
        # Qdrant merges metadata, and a null removes the key: the semantics update_meta promises.
        self._call("record metadata", self.client.update_collection, self.collection, metadata=values)

    def _sparse(self, keywords: SparseVector) -> models.SparseVector:
        return models.SparseVector(indices=keywords[0], values=keywords[1])

    def _upsert(self, points: list[tuple[str, Any, dict[str, Any]]]) -> None:
        # One request, one WAL entry on the server: the document is wholly old or wholly new.
        structs = [models.PointStruct(id=i, vector=v, payload=p) for i, v, p in points]
        self._call("write chunks", self.client.upsert, self.collection, points=structs, wait=True)

    def _delete(self, ids: list[str] | None = None, where: Where | None = None) -> None:
        if ids is not None:
            by_id = models.PointIdsList(points=list(ids))
            self._call("delete stale chunks", self.client.delete, self.collection, points_selector=by_id, wait=True)
        if where is not None:
            matching = models.FilterSelector(filter=_filter(where))
            self._call("delete a document", self.client.delete, self.collection, points_selector=matching, wait=True)

    def _leg(self, leg: Leg) -> dict[str, Any]:
        if isinstance(leg.vector, tuple):
            return {"query": self._sparse(leg.vector), "using": SPARSE_VECTOR}
        return {"query": leg.vector, "params": self._search_params()}

    def _search_params(self) -> models.SearchParams | None:
        if not self.shared_across_machines:
            return None  # local mode searches exhaustively
        rescore = models.QuantizationSearchParams(rescore=True) if self.config.quantization != "none" else None
        return models.SearchParams(hnsw_ef=self.config.hnsw_ef, quantization=rescore)

    def _query(self, query: Query) -> list[Hit]:
        wanted: dict[str, Any] = {
            "with_payload": query.with_payload,
            "with_vectors": [""] if query.with_dense else False,
        }
        if len(query.legs) == 1:
            leg = self._leg(query.legs[0])
            leg["search_params"] = leg.pop("params", None)
            request = {"query_filter": _filter(query.legs[0].where), **leg}
        else:
            prefetch = [
                models.Prefetch(limit=leg.limit, filter=_filter(leg.where), **self._leg(leg)) for leg in query.legs
            ]
            request = {"prefetch": prefetch, "query": models.RrfQuery(rrf=models.Rrf(k=query.rrf_k))}
        response = self._call(
            "search", self.client.query_points, self.collection, limit=query.limit, **request, **wanted
        )
        return [Hit(point.score, point.payload or {}, _dense_of(point.vector)) for point in response.points]

    def _query_batch(self, queries: list[Query]) -> list[list[Hit]]:
        requests = [self._request(query) for query in queries]
        responses = self._call("search", self.client.query_batch_points, self.collection, requests=requests)
        return [
            [Hit(point.score, point.payload or {}, _dense_of(point.vector), str(point.id)) for point in response.points]
            for response in responses
        ]

    def _request(self, query: Query) -> models.QueryRequest:
        """One query as a batch entry; several legs are fused by reciprocal rank, as in :meth:`_query`."""
        wanted: dict[str, Any] = {
            "with_payload": query.with_payload,
            "with_vector": [""] if query.with_dense else False,
        }
        if len(query.legs) == 1:
            leg = query.legs[0]
            return models.QueryRequest(limit=query.limit, filter=_filter(leg.where), **self._leg(leg), **wanted)
        prefetch = [models.Prefetch(limit=leg.limit, filter=_filter(leg.where), **self._leg(leg)) for leg in query.legs]
        return models.QueryRequest(
            limit=query.limit, prefetch=prefetch, query=models.RrfQuery(rrf=models.Rrf(k=query.rrf_k)), **wanted
        )

    def _retrieve(self, ids: list[str], dense: bool = False) -> list[Hit]:
        wanted = [""] if dense else False
        records = self._call("fetch chunks", self.client.retrieve, self.collection, ids=ids, with_vectors=wanted)
        return [Hit(0.0, record.payload or {}, _dense_of(record.vector), str(record.id)) for record in records]

    def _scroll(self, where: Where, limit: int, offset: Any, fields: list[str]) -> tuple[list[dict[str, Any]], Any]:
        records, offset = self._call(
            "list documents",
            self.client.scroll,
            self.collection,
            scroll_filter=_filter(where),
            limit=limit,
            offset=offset,
            with_payload=fields,
            with_vectors=False,
        )
        return [record.payload or {} for record in records], offset

    def _count(self, where: Where) -> int:
        result = self._call("count points", self.client.count, self.collection, count_filter=_filter(where), exact=True)
        return int(result.count)

    def finish_batch(self) -> None:
        """Qdrant indexes in the background; nothing to do."""

    def close(self) -> None:
        self.client.close()


def _condition(condition: Condition) -> models.FieldCondition | models.IsEmptyCondition:
    key, value = condition
    if value is None:
        return models.IsEmptyCondition(is_empty=models.PayloadField(key=key))
    match = models.MatchAny(any=list(value)) if isinstance(value, tuple) else models.MatchValue(value=value)
    return models.FieldCondition(key=key, match=match)


def _filter(where: Where) -> models.Filter:
    """An empty ``where`` makes a filter that matches every point."""
    return models.Filter(
        must=[_condition(c) for c in where.must] or None, must_not=[_condition(c) for c in where.must_not] or None
    )


def _dense_of(stored: object) -> object:
    return stored.get("", stored) if isinstance(stored, dict) else stored
