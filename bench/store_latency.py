"""Embedded store latency as `ragbot ask` queries it: filters on sets and source, hybrid on.

    .venv/bin/python bench/store_latency.py [--sizes 10000 100000 300000] [--queries 300]
        [--configs before after] [--engines edge local]

Each size is built once per store layout through ragbot's own EdgeStore (per-document upserts,
then ``finish_batch``, as `ragbot index` does). Every query carries the filters a served
question has: the asker's document sets (75% of chunks) and one source (20%), so about 15% of
the collection qualifies. Two timings per query:

- **dense**: one ``store.search(vector, 5, source, sets)``; recall@5 against exact numpy
  search over the same filtered subset;
- **product**: ``Retriever.retrieve`` with weighted hybrid fusion, the path every question
  takes: a dense leg and a keyword (sparse) leg of 80 candidates each, payloads and the
  keyword hits' dense vectors read back, fused. The question's vector is given, so the encoder
  is not timed.

Vectors are 384-d around 2,000 cluster centres (documents on related topics sit close
together); each chunk's ~1 KB text mixes its cluster's topic words with Zipf-distributed common
words, so the keyword leg meets long and short posting lists as on real docs. Queries are
perturbed copies of stored vectors with five words of their chunk. "before" is the store as it
was built and searched before issue 20; "after" is the current default; "after-pool" is that
with Edge's default search pool (a thread per CPU); "after-int8" adds int8 scalar quantisation.
``--legacy-product`` adds a contender on the "after" store whose product path is the one before
docs/benchmarks.md 20.1: both legs read back with payloads (the keyword leg with vectors too),
then fused in the retriever. All layouts of a size are open at once and every query goes to each
in turn, in rotating order, so load from other processes lands on all of them alike.
``--data DIR`` keeps the built stores, and a later run reuses them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Collection, Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import machine, percentile  # noqa: E402
from bot.config import StoreConfig  # noqa: E402
from bot.models import Chunk  # noqa: E402
from bot.retriever import Retriever  # noqa: E402
from bot.store import engine, query  # noqa: E402
from bot.store.edge import EdgeStore  # noqa: E402
from bot.store.qdrant import QdrantClientStore  # noqa: E402
from bot.store.query import Where  # noqa: E402

DIM = 384
CHUNKS_PER_DOC = 10
CENTRES = 2000
SOURCES = 5
ALLOWED_SETS = ("public",)
# The store as ragbot built and searched it before issue 20: HNSW under any filter that left a
# segment more than ~6.6k vectors, Edge's search pool of one thread per CPU, and live chunks as
# "must not be stale".
BEFORE = StoreConfig(hnsw_full_scan_kb=10_000, search_threads=0)
CONFIGS = {
    "before": BEFORE,
    "after": StoreConfig(),
    "after-pool": StoreConfig(search_threads=0),  # today's layout with Edge's default search pool
    "after-int8": StoreConfig(quantization="int8"),
}


def _old_live_where(source: str | None, sets: Collection[str] | None) -> Where:
    new = query.live_where(source, sets)
    return Where(must=tuple(c for c in new.must if c != ("stale", None)), must_not=(("stale", True),))


@contextlib.contextmanager
def searching_as(name: str) -> Iterator[None]:
    """The "before" store also filters live chunks the old way."""
    if name != "before":
        yield
        return
    engine.live_where = _old_live_where
    try:
        yield
    finally:
        engine.live_where = query.live_where


class LegacyRetriever(Retriever):
    """The weighted fusion before 20.1: two full candidate lists read back, fused here."""

    def _weighted(self, vector, question, limit, source, sets):  # type: ignore[no-untyped-def]
        candidates = limit * 4
        dense = self.store.search(vector, candidates, source=source, sets=sets)
        keywords = self.store.search(vector, candidates, source=source, sets=sets, text=question, keywords_only=True)
        fused: dict[tuple[str, int], float] = {}
        passages = {}
        for weight, hits in ((1.0, dense), (self.keyword_weight, keywords)):
            for rank, hit in enumerate(hits, start=1):
                key = (hit.doc_id, hit.chunk_index)
                fused[key] = fused.get(key, 0.0) + weight / (query.RRF_K + rank)
                passages.setdefault(key, hit)
        order = sorted(fused, key=lambda key: (-fused[key], -passages[key].score))
        return [passages[key] for key in order[:limit]]


def _vocabulary(size: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnoprstuvw"))
    return sorted({"".join(rng.choice(letters, int(rng.integers(4, 9)))) for _ in range(size)})


WORDS = _vocabulary(30_000, 7)


class Corpus:
    """Clustered vectors and texts for ``size`` chunks, and queries that land near some of them."""

    def __init__(self, size: int) -> None:
        rng = np.random.default_rng(0)
        centres = rng.normal(size=(CENTRES, DIM)).astype(np.float32)
        self.cluster = rng.integers(0, CENTRES, size)
        self.vectors = _normalise(centres[self.cluster] + 0.9 * rng.normal(size=(size, DIM)).astype(np.float32))
        topics = rng.integers(0, len(WORDS), (CENTRES, 30))
        zipf = np.minimum(rng.zipf(1.15, (size, 100)) - 1, len(WORDS) - 1)
        topical = topics[self.cluster[:, None], rng.integers(0, 30, (size, 20))]
        self.words = np.concatenate([topical, zipf], axis=1)
        self.size = size

    def text(self, chunk: int) -> str:
        return " ".join(WORDS[w] for w in self.words[chunk])

    @staticmethod
    def source(doc: int) -> str:
        return f"src-{doc % SOURCES}"

    @staticmethod
    def sets(doc: int) -> tuple[str, ...]:
        return ("eng",) if doc % 4 == 0 else ("public",)

    def chunks(self, first: int) -> list[Chunk]:
        doc = first // CHUNKS_PER_DOC
        return [
            Chunk(
                f"doc-{doc}",
                i,
                self.source(doc),
                f"https://docs.example/{doc}#s{i}",
                f"Doc {doc}",
                f"Section {i}",
                self.text(first + i),
                "h",
                sets=self.sets(doc),
            )
            for i in range(min(CHUNKS_PER_DOC, self.size - first))
        ]

    def queries(self, n: int) -> list[tuple[np.ndarray, str, str, int]]:
        """(vector, question text, source, target chunk): targets an asker may read."""
        rng = np.random.default_rng(2)
        docs = [d for d in rng.integers(0, self.size // CHUNKS_PER_DOC, n * 2) if self.sets(int(d)) == ALLOWED_SETS]
        out = []
        for doc in docs[:n]:
            target = int(doc) * CHUNKS_PER_DOC + int(rng.integers(0, CHUNKS_PER_DOC))
            vector = _normalise(self.vectors[target][None] + 0.02 * rng.normal(size=(1, DIM)).astype(np.float32))[0]
            words = " ".join(WORDS[w] for w in rng.choice(self.words[target], 5, replace=False))
            out.append((vector, words, self.source(int(doc)), target))
        return out


def _normalise(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def open_engine(kind: str, root: Path, config: StoreConfig):  # type: ignore[no-untyped-def]
    if kind == "edge":
        return EdgeStore(root / "edge", config)
    return QdrantClientStore("bench", StoreConfig(backend="local"), local_path=root / "local")


def build_store(kind: str, root: Path, config: StoreConfig, corpus: Corpus) -> float:
    store = open_engine(kind, root, config)
    store.ensure_collection(DIM, "bench")
    started = time.perf_counter()
    for first in range(0, corpus.size, CHUNKS_PER_DOC):
        chunks = corpus.chunks(first)
        store.replace_document(chunks, corpus.vectors[first : first + len(chunks)])
    store.finish_batch()
    built = time.perf_counter() - started
    store.close()
    return built


def _filtered_exact(corpus: Corpus, vector: np.ndarray, source: str) -> set[int]:
    docs = np.arange(corpus.size) // CHUNKS_PER_DOC
    allowed = (docs % SOURCES == int(source.split("-")[1])) & (docs % 4 != 0)
    scores = np.where(allowed, corpus.vectors @ vector, -np.inf)
    return set(np.argsort(-scores)[:5].tolist())


class Contender:
    """One store layout under test, opened once; its timings gather over the interleaved run."""

    def __init__(
        self, kind: str, name: str, root: Path, config: StoreConfig, label: str, shared: Contender | None = None
    ) -> None:
        self.kind, self.name, self.label, self.config = kind, name, label, config
        started = time.perf_counter()
        self.store = shared.store if shared else open_engine(kind, root, config)  # one process per Edge shard
        kind_of_retriever = LegacyRetriever if shared else Retriever
        self.retriever = kind_of_retriever(self.store, embedder=None, hybrid=True, neighbours=0)  # type: ignore[arg-type]
        self.shared = shared is not None
        self.partner = shared  # the new path on the same store: results must be the same
        self.last: list = []  # type: ignore[type-arg]
        self.differing = 0
        self.segments = self.store.shard.info().segments_count if kind == "edge" else 0
        self.opened_s = 0.0
        self.started = started
        self.dense_ms: list[float] = []
        self.product_ms: list[float] = []
        self.recalls: list[float] = []

    def ask(self, corpus: Corpus, vector: np.ndarray, text: str, source: str, first: bool = False) -> None:
        with searching_as(self.name):
            t = time.perf_counter()
            hits = self.store.search(vector, 5, source=source, sets=ALLOWED_SETS)
            dense = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            self.last = self.retriever.retrieve(text, 5, source=source, sets=ALLOWED_SETS, vector=vector)
            product = (time.perf_counter() - t) * 1000
        if first:  # opening the store and the first query: what a fresh `ragbot ask` pays
            self.opened_s = time.perf_counter() - self.started
            return
        self.dense_ms.append(dense)
        self.product_ms.append(product)
        found = {int(h.doc_id.split("-")[1]) * CHUNKS_PER_DOC + h.chunk_index for h in hits}
        self.recalls.append(len(found & _filtered_exact(corpus, vector, source)) / 5)

    def row(self, size: int) -> str:
        return (
            f"| {self.label} | {size:,} | {self.segments} | {self.opened_s:.2f} s | {_percentiles(self.dense_ms)} "
            f"| {_percentiles(self.product_ms)} | {np.mean(self.recalls):.3f} |"
        )


def _percentiles(ms: list[float]) -> str:
    return " / ".join(f"{percentile(ms, q):.1f}" for q in (0.5, 0.95, 0.99))


def run_size(size: int, args: argparse.Namespace, data: Path) -> None:
    """Build (or reuse, under ``data``) every layout, then ask each query of every store in turn:
    on a shared machine, load then lands on all contenders alike."""
    corpus = Corpus(size)
    queries = corpus.queries(args.queries)
    layouts = [("edge", name) for name in args.configs] + [("local", "after")] * ("local" in args.engines)
    contenders = []
    for kind, name in layouts:
        root = data / f"{size}-{kind}-{name}"
        if not (root / kind / "ragbot-meta.json").exists() and not (root / "local").exists():
            built = build_store(kind, root, CONFIGS[name], corpus)
            print(f"<!-- {kind} {name} {size:,}: built in {built:.0f} s -->", flush=True)
        label = f"{kind} {name}" if kind == "edge" else "qdrant-client local"
        contenders.append(Contender(kind, name, root, CONFIGS[name], label))
        contenders[-1].ask(corpus, *queries[0][:3], first=True)
        if args.legacy_product and kind == "edge" and name == "after":
            legacy = f"{label}, product before 20.1"
            contenders.append(Contender(kind, name, root, CONFIGS[name], legacy, contenders[-1]))
            contenders[-1].ask(corpus, *queries[0][:3], first=True)
        for ef in args.efs if kind == "edge" and name != "before" else []:
            tuned = CONFIGS[name].model_copy(update={"hnsw_ef": ef})
            contenders.append(Contender(kind, name, root, tuned, f"{label}, hnsw_ef={ef}"))
            contenders[-1].ask(corpus, *queries[0][:3], first=True)
    for q, (vector, text, source, _target) in enumerate(queries):
        for contender in contenders[q % len(contenders) :] + contenders[: q % len(contenders)]:
            contender.ask(corpus, vector, text, source)
        for contender in contenders:
            contender.differing += contender.partner is not None and contender.last != contender.partner.last
    for contender in contenders:
        print(contender.row(size), flush=True)
        if contender.partner is not None:
            print(f"<!-- {contender.label}: {contender.differing} of {len(queries)} answers differ -->")
        if not contender.shared:
            contender.store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--engines", nargs="+", default=["edge"], choices=["edge", "local"])
    parser.add_argument("--configs", nargs="+", default=["before", "after"], choices=sorted(CONFIGS))
    parser.add_argument("--efs", type=int, nargs="*", default=[], help="extra hnsw_ef values for 'after'")
    parser.add_argument(
        "--legacy-product", action="store_true", help="also time the product path before 20.1 on 'after'"
    )
    parser.add_argument("--data", type=Path, help="keep the built stores here and reuse them on the next run")
    args = parser.parse_args()
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
    print(
        "| store | chunks | segments | open + first query | dense p50 / p95 / p99 ms "
        "| product (hybrid) p50 / p95 / p99 ms | recall@5 (dense) |"
    )
    print("|---|---|---|---|---|---|---|")
    data = args.data or Path(tempfile.mkdtemp(prefix="bench-store-"))
    try:
        for size in args.sizes:
            run_size(size, args, data)
    finally:
        if args.data is None:
            shutil.rmtree(data, ignore_errors=True)
    print(f"<!-- load average at the end {os.getloadavg()[0]:.1f} -->")


if __name__ == "__main__":
    main()
