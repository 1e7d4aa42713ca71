"""Weighted hybrid search reads back only the fused keepers, and ranks exactly as fusing two full
candidate lists did (issue 20: the product path's p95), on both engines."""

from __future__ import annotations

from collections.abc import Collection, Iterator

import numpy as np
import pytest

from bot.config import StoreConfig
from bot.models import Chunk, Passage
from bot.retriever import Retriever
from bot.store.base import Store
from bot.store.edge import EdgeStore
from bot.store.qdrant import QdrantClientStore
from bot.store.query import contenders
from tests.support.fake_qdrant import FakeQdrant, running_fake_qdrant

DIM = 16
DOCS, PER_DOC = 60, 5
WORDS = [f"w{n}" for n in range(40)]  # few words: keyword scores tie, ranks collide


@pytest.fixture(scope="module")
def server() -> Iterator[FakeQdrant]:
    with running_fake_qdrant() as fake:
        yield fake


@pytest.fixture(params=["edge", "qdrant-client", "qdrant-server"], scope="module")
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    root = tmp_path_factory.mktemp(request.param)
    opened: Store
    if request.param == "edge":
        opened = EdgeStore(root / "edge", StoreConfig())
    elif request.param == "qdrant-client":
        opened = QdrantClientStore("weighted", StoreConfig(backend="local"), local_path=root / "local")
    else:  # over HTTP: the batch query endpoint
        opened = QdrantClientStore("weighted", StoreConfig(url=request.getfixturevalue("server").url))
    opened.ensure_collection(DIM, "test-model")
    rng = np.random.default_rng(11)
    centres = rng.normal(size=(6, DIM))
    for doc in range(DOCS):
        vectors = centres[doc % 6] + 0.7 * rng.normal(size=(PER_DOC, DIM))
        vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
        chunks = [
            Chunk(
                f"doc-{doc}",
                i,
                f"src-{doc % 3}",
                f"https://docs.example/{doc}#{i}",
                f"Doc {doc}",
                f"Section {i}",
                " ".join(rng.choice(WORDS, 12)),
                "h",
                sets=("eng",) if doc % 4 == 0 else ("public",),
            )
            for i in range(PER_DOC)
        ]
        opened.replace_document(chunks, vectors)
    opened.finish_batch()
    yield opened
    opened.close()


def fused_from_full_lists(
    store: Store, vector: np.ndarray, question: str, limit: int, weight: float, source: str | None, sets: list[str]
) -> list[Passage]:
    """The retriever's weighted fusion before issue 20: two full candidate lists (payloads and the
    keyword hits' vectors read back), fused by weighted reciprocal rank, ties to the higher cosine."""
    candidates = limit * 4
    dense = store.search(vector, candidates, source=source, sets=sets)
    keywords = store.search(vector, candidates, source=source, sets=sets, text=question, keywords_only=True)
    fused: dict[tuple[str, int], float] = {}
    passages: dict[tuple[str, int], Passage] = {}
    for list_weight, hits in ((1.0, dense), (weight, keywords)):
        for rank, hit in enumerate(hits, start=1):
            key = (hit.doc_id, hit.chunk_index)
            fused[key] = fused.get(key, 0.0) + list_weight / (60 + rank)
            passages.setdefault(key, hit)
    order = sorted(fused, key=lambda key: (-fused[key], -passages[key].score))
    return [passages[key] for key in order[:limit]]


def _questions(n: int) -> list[tuple[np.ndarray, str, str | None, list[str]]]:
    rng = np.random.default_rng(3)
    asked = []
    for q in range(n):
        vector = rng.normal(size=DIM)
        text = " ".join(rng.choice(WORDS, 3)) if q % 5 else "?"  # every fifth has no keywords at all
        source = None if q % 3 == 0 else f"src-{q % 3}"
        sets = ["public"] if q % 2 else ["public", "eng"]
        asked.append(((vector / np.linalg.norm(vector)).astype(np.float32), text, source, sets))
    return asked


@pytest.mark.parametrize("weight", [0.25, 1.0])  # 1.0: many fused ties, some across the cut
def test_weighted_search_ranks_exactly_as_fusing_full_candidate_lists(store: Store, weight: float) -> None:
    retriever = Retriever(store, embedder=None, hybrid=True, neighbours=0, keyword_weight=weight)  # type: ignore[arg-type]
    for vector, text, source, sets in _questions(40):
        for limit in (4, 20):
            expected = fused_from_full_lists(store, vector, text, limit, weight, source, sets)
            got = retriever._weighted(vector, text, limit, source, sets)
            assert len(expected) == limit
            assert got == expected, (text, source, sets, limit)


def test_weighted_search_keeps_the_filters(store: Store) -> None:
    vector = _questions(1)[0][0]
    hits = store.weighted_search(vector, "w1 w2", 20, 0.25, source="src-1", sets=["eng"])
    assert hits and all(h.source == "src-1" and int(h.doc_id.split("-")[1]) % 4 == 0 for h in hits)
    nothing: Collection[str] = []
    assert store.weighted_search(vector, "w1 w2", 20, 0.25, sets=nothing) == []


def test_candidates_tied_at_the_cut_are_all_read_back() -> None:
    # A keyword-only hit can tie a dense one at the cut and win on cosine once its vector is read
    # (HNSW may miss it from the dense list): every tied candidate must stay in the running.
    fused = {"a": 0.5, "b": 0.3, "c": 0.2, "d": 0.2, "e": 0.1}
    assert contenders(fused, 3) == ["a", "b", "c", "d"]
    assert contenders(fused, 2) == ["a", "b"]
    assert contenders(fused, 9) == ["a", "b", "c", "d", "e"]
