"""One contract, every store engine: the embedded default (Qdrant Edge) and qdrant-client
(local mode stands in for the server API here; the same class talks to a server)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.config import StoreConfig
from bot.errors import StoreMismatch, StoreUnavailable
from bot.models import point_id
from bot.store.base import Store
from bot.store.edge import EdgeStore
from bot.store.qdrant import QdrantClientStore
from tests.support.stored import DIM, chunks_for, unit

# The settings a clustered server deployment uses (docker-compose's cluster profile).
CLUSTER = StoreConfig(
    backend="local",
    shard_number=3,
    replication_factor=2,
    write_consistency_factor=2,
    on_disk=True,
    quantization="int8",
    hnsw_m=32,
    hnsw_ef_construct=256,
)


def make_store(kind: str, root: Path) -> Store:
    if kind == "edge":
        return EdgeStore(root / "edge", StoreConfig())
    if kind == "edge-int8":
        return EdgeStore(root / "edge", StoreConfig(quantization="int8", on_disk=True))
    config = CLUSTER if kind == "qdrant-client-cluster" else StoreConfig(backend="local")
    return QdrantClientStore("contract", config, local_path=root / "local")


@pytest.fixture(params=["edge", "edge-int8", "qdrant-client", "qdrant-client-cluster"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture()
def store(store_kind: str, tmp_path: Path) -> Iterator[Store]:
    opened = make_store(store_kind, tmp_path)
    opened.ensure_collection(DIM, "test-model")
    yield opened
    opened.close()


def test_search_returns_nearest_chunk_with_its_payload(store: Store) -> None:
    chunks, vectors = chunks_for("a", 3, "v1")
    store.replace_document(chunks, vectors)
    other, other_vectors = chunks_for("b", 2, "v1")
    store.replace_document(other, other_vectors)

    hits = store.search(vectors[1], k=3)

    assert hits[0].doc_id == "a" and hits[0].chunk_index == 1
    assert hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert hits[0].url == "https://docs.example/a#part-1"
    assert hits[0].title == "Title a" and hits[0].section == "Part 1"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_search_can_be_limited_to_one_source(store: Store) -> None:
    a, a_vectors = chunks_for("a", 2, "v1", source="wiki")
    b, b_vectors = chunks_for("b", 2, "v1", source="handbook")
    store.replace_document(a, a_vectors)
    store.replace_document(b, b_vectors)

    hits = store.search(a_vectors[0], k=4, source="handbook")

    assert hits and {h.source for h in hits} == {"handbook"}
    assert store.count("wiki") == 2 and store.count() == 4


def test_replacing_a_document_with_fewer_chunks_removes_the_old_tail(store: Store) -> None:
    old, old_vectors = chunks_for("a", 5, "v1")
    store.replace_document(old, old_vectors)
    new, new_vectors = chunks_for("a", 2, "v2")

    store.replace_document(new, new_vectors, previous_count=5)

    state = store.document_states()["a"]
    assert state.consistent and state.content_hash == "v2" and state.chunk_count == 2
    assert store.count() == 2
    assert all(hit.text.endswith("v2") for hit in store.search(old_vectors[4], k=10))


def test_fetch_returns_live_chunks_by_point_id(store: Store) -> None:
    old, old_vectors = chunks_for("a", 4, "v1")
    store.replace_document(old, old_vectors)
    new, new_vectors = chunks_for("a", 2, "v2")
    store.replace_document(new, new_vectors, previous_count=4)

    fetched = store.fetch([point_id("a", i) for i in (1, 3)] + [point_id("missing", 0)])

    assert [(p.doc_id, p.chunk_index, p.text, p.section) for p in fetched] == [("a", 1, "a chunk 1 v2", "Part 1")]
    assert store.fetch([]) == []


def test_document_states_report_hash_and_chunk_count(store: Store) -> None:
    for doc_id, count in (("a", 3), ("b", 1)):
        chunks, vectors = chunks_for(doc_id, count, f"hash-{doc_id}")
        store.replace_document(chunks, vectors)

    states = store.document_states()

    assert set(states) == {"a", "b"}
    assert states["a"].content_hash == "hash-a" and states["a"].chunk_count == 3
    assert states["b"].expected_chunks == 1 and states["b"].consistent


def test_delete_document_removes_only_that_document(store: Store) -> None:
    for doc_id in ("a", "b"):
        chunks, vectors = chunks_for(doc_id, 2, "v1")
        store.replace_document(chunks, vectors)

    store.delete_document("a")

    assert set(store.document_states()) == {"b"}
    assert store.count() == 2


def test_point_ids_are_deterministic_per_document_and_chunk() -> None:
    assert point_id("docs:a.md", 0) == point_id("docs:a.md", 0)
    assert point_id("docs:a.md", 0) != point_id("docs:a.md", 1)
    assert point_id("docs:a.md", 0) != point_id("docs:b.md", 0)


def test_collection_survives_reopening(store_kind: str, tmp_path: Path) -> None:
    first = make_store(store_kind, tmp_path)
    first.ensure_collection(DIM, "test-model")
    chunks, vectors = chunks_for("a", 3, "v1")
    first.replace_document(chunks, vectors)
    first.finish_batch()
    first.close()

    second = make_store(store_kind, tmp_path)
    try:
        assert second.collection_exists()
        second.ensure_collection(DIM, "test-model")
        assert second.count() == 3
        assert second.search(vectors[2], k=1)[0].chunk_index == 2
    finally:
        second.close()


def built_with_test_model(store_kind: str, tmp_path: Path) -> None:
    """A closed store holding one two-chunk document, built for "test-model" (DIM dimensions)."""
    first = make_store(store_kind, tmp_path)
    first.ensure_collection(DIM, "test-model")
    chunks, vectors = chunks_for("a", 2, "v1")
    first.replace_document(chunks, vectors)
    first.close()


def test_a_model_with_another_dimension_is_refused(store_kind: str, tmp_path: Path) -> None:
    built_with_test_model(store_kind, tmp_path)
    second = make_store(store_kind, tmp_path)
    try:
        with pytest.raises(StoreMismatch, match=r"8-d"):
            second.ensure_collection(16, "bigger-model")
        assert second.count() == 2  # refused, and nothing was touched
    finally:
        second.close()


def test_a_model_with_the_same_dimension_but_another_name_is_refused(store_kind: str, tmp_path: Path) -> None:
    built_with_test_model(store_kind, tmp_path)
    second = make_store(store_kind, tmp_path)
    try:
        with pytest.raises(StoreMismatch) as refused:
            second.ensure_collection(DIM, "other-model-same-size")
        message = str(refused.value)
        assert "'test-model'" in message and "'other-model-same-size'" in message  # which model built it
        assert "RAGBOT_COLLECTION" in message and "RAGBOT_DATA_DIR" in message  # and what to do
        assert second.count() == 2  # refused, and nothing was touched
        second.ensure_collection(DIM, "sentence-transformers/test-model")  # the same model, spelled longer
    finally:
        second.close()


def _forget_the_model_name(store_kind: str, root: Path) -> None:
    """Turn the collection at ``root`` into one made before ragbot recorded its model."""
    import json

    if store_kind.startswith("edge"):
        meta_path = root / "edge" / "ragbot-meta.json"
        meta = json.loads(meta_path.read_text())
        meta_path.write_text(json.dumps({"dimension": meta["dimension"], "sparse": meta["sparse"]}))
        return
    from qdrant_client import QdrantClient

    client = QdrantClient(path=str(root / "local"))
    try:
        client.update_collection("contract", metadata={"embedding_model": None, "document_encoder": None})
        assert not (client.get_collection("contract").config.metadata or {}).get("embedding_model")
    finally:
        client.close()


def test_an_index_that_does_not_record_its_model_still_opens_with_one_warning(
    store_kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = make_store(store_kind, tmp_path)
    first.ensure_collection(DIM, "test-model")
    chunks, vectors = chunks_for("a", 2, "v1")
    first.replace_document(chunks, vectors)
    first.close()
    _forget_the_model_name(store_kind, tmp_path)

    second = make_store(store_kind, tmp_path)
    try:
        with caplog.at_level("WARNING"):
            second.ensure_collection(DIM, "any-model")
            second.ensure_collection(DIM, "any-model")
        assert second.count() == 2
    finally:
        second.close()
    warnings = [r for r in caplog.records if "does not record which embedding model" in r.getMessage()]
    assert len(warnings) == 1


def test_a_second_process_gets_a_clear_error_while_the_store_is_open(store_kind: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    first = make_store(store_kind, tmp_path)
    first.ensure_collection(DIM, "test-model")
    try:
        script = (
            "from pathlib import Path\n"
            "from tests.unit.test_store_contract import make_store\n"
            "from bot.errors import StoreUnavailable\n"
            f"try:\n    make_store({store_kind!r}, Path({str(tmp_path)!r}))\n"
            "except StoreUnavailable as exc:\n    print('REFUSED', exc)\n"
        )
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        assert "REFUSED" in result.stdout and "in use by another ragbot process" in result.stdout, result.stderr
    finally:
        first.close()


def test_an_empty_store_searches_to_nothing(store_kind: str, tmp_path: Path) -> None:
    fresh = make_store(store_kind, tmp_path)
    try:
        assert not fresh.collection_exists()
        assert fresh.search(unit(1), k=3) == []
        assert fresh.document_states() == {}
        assert fresh.count() == 0
        if store_kind == "edge":
            with pytest.raises(StoreUnavailable):
                fresh.replace_document(*chunks_for("a", 1, "v1"))
    finally:
        fresh.close()


def test_search_can_be_limited_to_document_sets(store: Store) -> None:
    public, public_vectors = chunks_for("pub", 2, "v1")
    secret, secret_vectors = chunks_for("hr", 2, "v1")
    secret = [replace(chunk, sets=("hr", "managers")) for chunk in secret]
    store.replace_document(public, public_vectors)
    store.replace_document(secret, secret_vectors)

    assert {h.doc_id for h in store.search(secret_vectors[0], k=4)} == {"pub", "hr"}
    assert {h.doc_id for h in store.search(secret_vectors[0], k=4, sets={"public"})} == {"pub"}
    assert {h.doc_id for h in store.search(secret_vectors[0], k=4, sets={"managers"})} == {"hr"}
    assert store.search(secret_vectors[0], k=4, sets=set()) == []
    assert store.document_states()["hr"].sets == {"hr", "managers"}


def test_server_collection_settings_come_from_config(tmp_path: Path) -> None:
    from qdrant_client import models

    store = QdrantClientStore("contract", CLUSTER, local_path=tmp_path / "local")
    try:
        params = store.collection_params(384)
    finally:
        store.close()
    assert params["vectors_config"] == models.VectorParams(size=384, distance=models.Distance.COSINE, on_disk=True)
    assert (params["shard_number"], params["replication_factor"], params["write_consistency_factor"]) == (3, 2, 2)
    assert params["hnsw_config"] == models.HnswConfigDiff(m=32, ef_construct=256, full_scan_threshold=40_000)
    assert params["quantization_config"].scalar.type == models.ScalarType.INT8


def test_write_consistency_above_replicas_is_refused() -> None:
    with pytest.raises(ValueError, match="write_consistency_factor"):
        StoreConfig(replication_factor=1, write_consistency_factor=2)


@contextmanager
def opened(store_kind: str, root: Path) -> Iterator[Store]:
    """The store at ``root``, opened for the block and closed after it."""
    store = make_store(store_kind, root)
    try:
        yield store
    finally:
        store.close()


def _build_with_dot_product(store_kind: str, root: Path) -> None:
    """A collection that records "test-model" but compares by dot product, as no ragbot makes it."""
    import json

    from bot.store.fit import index_metadata

    meta = index_metadata(DIM, "test-model")
    if store_kind.startswith("edge"):
        import qdrant_edge as qe

        (root / "edge").mkdir(parents=True)
        config = qe.EdgeConfig(vectors=qe.EdgeVectorParams(size=DIM, distance=qe.Distance.Dot))
        qe.EdgeShard.create(str(root / "edge" / "shard"), config).close()
        (root / "edge" / "ragbot-meta.json").write_text(json.dumps(meta))
        return
    from qdrant_client import QdrantClient, models

    client = QdrantClient(path=str(root / "local"))
    try:
        vectors = models.VectorParams(size=DIM, distance=models.Distance.DOT)
        client.create_collection("contract", vectors_config=vectors, metadata=meta)
    finally:
        client.close()


def test_a_collection_that_compares_by_another_distance_is_refused(store_kind: str, tmp_path: Path) -> None:
    _build_with_dot_product(store_kind, tmp_path)
    with opened(store_kind, tmp_path) as store, pytest.raises(StoreMismatch, match=r"8-d dot .* 8-d cosine"):
        store.ensure_collection(DIM, "test-model")


def test_a_collection_built_for_another_document_encoder_is_refused(store_kind: str, tmp_path: Path) -> None:
    with opened(store_kind, tmp_path) as first:
        first.ensure_collection(DIM, "test-model", encoder="encoder-a")

    with opened(store_kind, tmp_path) as second:
        second.ensure_collection(DIM, "test-model", encoder="encoder-a")
        second.ensure_collection(DIM, "test-model")  # a process without a trained encoder may read it
        with pytest.raises(StoreMismatch, match="document encoder 'encoder-a'.*'encoder-b'"):
            second.ensure_collection(DIM, "test-model", encoder="encoder-b")


def test_meta_says_what_built_the_collection(store: Store, store_kind: str, tmp_path: Path) -> None:
    meta = store.meta()

    assert meta["embedding_model"] == "test-model" and meta["dimension"] == DIM
    assert not {"model", "sparse"} & set(meta), "the engine's own bookkeeping stays out of the metadata"
    with opened(store_kind, tmp_path / "empty") as fresh:
        assert fresh.meta() == {}


def test_recorded_metadata_is_kept_across_reopening(store_kind: str, tmp_path: Path) -> None:
    with opened(store_kind, tmp_path) as first:
        first.ensure_collection(DIM, "test-model")
        first.update_meta({"query_encoder": "enc-1", "trained_at": "2025-01-02T03:04:05Z"})
        first.update_meta({"trained_at": None, "query_encoder_steps": 300})  # merged; None removes a key
        assert first.meta()["query_encoder"] == "enc-1"

    with opened(store_kind, tmp_path) as second:
        meta = second.meta()
        assert meta["query_encoder"] == "enc-1" and meta["query_encoder_steps"] == 300
        assert "trained_at" not in meta
        assert meta["embedding_model"] == "test-model"  # what was there before stays
        second.ensure_collection(DIM, "test-model")  # and still fits the model


def test_recorded_metadata_cannot_change_what_the_vectors_are(store: Store, store_kind: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="embedding_model"):
        store.update_meta({"embedding_model": "other-model", "query_encoder": "enc-1"})
    with pytest.raises(ValueError, match="dimension"):
        store.update_meta({"dimension": 16})
    assert "query_encoder" not in store.meta() and store.meta()["embedding_model"] == "test-model"

    with opened(store_kind, tmp_path / "fresh") as fresh, pytest.raises(StoreUnavailable, match="ragbot index"):
        fresh.update_meta({"query_encoder": "enc-1"})


@pytest.mark.parametrize("store_kind", ["edge", "edge-int8"])  # only its meta file ever used the old key
def test_an_old_embedded_index_naming_its_model_the_old_way_refuses_another_model(
    store_kind: str, tmp_path: Path
) -> None:
    import json

    built_with_test_model(store_kind, tmp_path)
    meta_path = tmp_path / "edge" / "ragbot-meta.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({"dimension": DIM, "model": meta["embedding_model"], "sparse": meta["sparse"]}))

    with opened(store_kind, tmp_path) as store:
        assert store.meta()["embedding_model"] == "test-model"
        with pytest.raises(StoreMismatch, match="built with the embedding model 'test-model'"):
            store.ensure_collection(DIM, "other-model-same-size")


def test_stored_vectors_come_back_in_the_order_asked(store: Store) -> None:
    chunks, vectors = chunks_for("a", 3, "v1")
    store.replace_document(chunks, vectors)

    got = store.vectors([point_id("a", 2), point_id("a", 0)])

    assert got.shape == (2, DIM) and got.dtype == np.float32
    assert np.allclose(got, vectors[[2, 0]], atol=1e-5)
    with pytest.raises(KeyError, match="1 of the requested points"):
        store.vectors([point_id("a", 1), point_id("missing", 0)])
