"""Filtered searches on the embedded store after a bulk load: the true nearest chunks the asker
may read, and never a tombstone (issue 20's store changes, checked for results, not speed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bot.config import StoreConfig
from bot.models import Chunk
from bot.store.edge import EdgeStore
from bot.store.points import replacement_points

# Wide vectors make a few thousand points as many kilobytes as a large real index, so the
# choice between HNSW and an exact scan under a filter happens at a size a unit test can build.
WIDE = 4096
DOCS, PER_DOC = 300, 10


def _wide_store(path: Path, config: StoreConfig) -> tuple[EdgeStore, np.ndarray]:
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(DOCS * PER_DOC, WIDE)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = EdgeStore(path, config)
    store.ensure_collection(WIDE, "wide-test-model")
    for doc in range(DOCS):
        chunks = [
            Chunk(
                f"doc-{doc}",
                i,
                f"src-{doc % 2}",
                f"https://docs.example/{doc}#{i}",
                f"Doc {doc}",
                "",
                "text",
                "h",
                sets=("eng",) if doc % 4 == 0 else ("public",),
            )
            for i in range(PER_DOC)
        ]
        store.replace_document(chunks, vectors[doc * PER_DOC : (doc + 1) * PER_DOC])
    store.finish_batch()  # the bulk load is optimised: indexed segments, as after `ragbot index`
    return store, vectors


def test_after_a_bulk_load_a_search_within_one_source_and_set_finds_the_true_nearest_chunks(tmp_path: Path) -> None:
    # A deliberately weak graph: where HNSW runs under the filter it misses true neighbours.
    store, vectors = _wide_store(tmp_path / "wide", StoreConfig(hnsw_m=4, hnsw_ef_construct=8, hnsw_ef=5))
    docs = np.arange(DOCS * PER_DOC) // PER_DOC
    allowed = (docs % 2 == 1) & (docs % 4 != 0)  # src-1, public: 1,500 of 3,000 chunks
    rng = np.random.default_rng(9)
    misses = 0
    for _ in range(20):
        query = rng.normal(size=WIDE).astype(np.float32)
        query /= np.linalg.norm(query)
        exact = np.argsort(-np.where(allowed, vectors @ query, -np.inf))[:5]
        hits = store.search(query, 5, source="src-1", sets=["public"])
        assert all(hit.source == "src-1" for hit in hits)
        found = {int(hit.doc_id.split("-")[1]) * PER_DOC + hit.chunk_index for hit in hits}
        misses += len(set(exact.tolist()) - found)
    store.close()
    assert misses == 0


def test_chunks_left_stale_by_an_interrupted_update_never_come_back_from_any_search(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "small", StoreConfig())
    store.ensure_collection(WIDE, "wide-test-model")
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(4, WIDE)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    old = [Chunk("guide", i, "docs", f"https://d/#{i}", "Guide", "", f"deploy step {i}", "v1") for i in range(4)]
    store.replace_document(old, vectors)
    new = [Chunk("guide", 0, "docs", "https://d/#0", "Guide", "", "deploy in one step", "v2")]
    # The upsert of an update lands, the crash comes before its tombstones are deleted.
    writes, stale = replacement_points(new, vectors[:1], previous_count=4)
    store._upsert([(w.id, store._vectors(w), w.payload) for w in writes])
    assert store.count() == 4 and len(stale) == 3

    for query in vectors:  # each old chunk's own vector: its tombstone is the nearest point
        for hits in (
            store.search(query, 5),
            store.search(query, 5, source="docs", sets=["public"]),
            store.search(query, 5, text="deploy step", sets=["public"]),
            store.search(query, 5, text="deploy step", keywords_only=True),
        ):
            assert [(h.doc_id, h.chunk_index, h.text) for h in hits] == [("guide", 0, "deploy in one step")]
    store.close()


def test_a_new_embedded_index_searches_with_the_configured_thread_pool(tmp_path: Path) -> None:
    for threads, recorded in ((1, 1), (3, 3), (0, None)):  # 0: Edge picks one per CPU
        store = EdgeStore(tmp_path / f"threads-{threads}", StoreConfig(search_threads=threads))
        store.ensure_collection(8, "test-model")
        store.close()
        shard_config = json.loads((tmp_path / f"threads-{threads}" / "shard" / "edge_config.json").read_text())
        assert shard_config.get("max_search_threads") == recorded
