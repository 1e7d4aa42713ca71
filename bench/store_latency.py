"""Embedded store engines at 10k and 100k chunks: load time, query latency, recall@5.

    .venv/bin/python bench/store_latency.py [--sizes 10000 100000] [--queries 200]

Vectors are 384-d, drawn around 2,000 cluster centres (documents on related topics sit
close together, as real embeddings do); recall@5 is measured against exact numpy search.
Both engines run through ragbot's own store classes, so this is the code path `ragbot ask` uses.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import machine, summary_ms  # noqa: E402
from bot.config import StoreConfig  # noqa: E402
from bot.models import Chunk  # noqa: E402
from bot.store.edge import EdgeStore  # noqa: E402
from bot.store.qdrant import QdrantClientStore  # noqa: E402

DIM = 384
CHUNKS_PER_DOC = 10
TEXT = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 4


def normalise(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def make_vectors(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(2000, DIM)).astype(np.float32)
    return normalise(centres[rng.integers(0, len(centres), n)] + 0.9 * rng.normal(size=(n, DIM)).astype(np.float32))


def make_queries(vectors: np.ndarray, n: int) -> np.ndarray:
    """Questions land near the chunks that answer them: perturbed copies of stored vectors."""
    rng = np.random.default_rng(2)
    picked = vectors[rng.integers(0, len(vectors), n)]
    return normalise(picked + 0.02 * rng.normal(size=picked.shape).astype(np.float32))


def open_engine(kind: str, root: Path, ef: int = 128):
    if kind == "edge":
        return EdgeStore(root / "edge", StoreConfig(hnsw_ef=ef))
    return QdrantClientStore("bench", StoreConfig(backend="local"), local_path=root / "local")


def fill(store, vectors: np.ndarray) -> float:
    store.ensure_collection(DIM, "bench")
    started = time.perf_counter()
    for d in range(0, len(vectors), CHUNKS_PER_DOC):
        chunks = [
            Chunk(f"doc-{d}", i, "bench", f"https://docs.example/{d}#s{i}", f"Doc {d}", f"Section {i}", TEXT, "h")
            for i in range(min(CHUNKS_PER_DOC, len(vectors) - d))
        ]
        store.replace_document(chunks, vectors[d : d + len(chunks)])
    store.finish_batch()
    return time.perf_counter() - started


def measure(kind: str, size: int, queries: int, efs: list[int]) -> list[str]:
    vectors = make_vectors(size)
    query_vectors = make_queries(vectors, queries)
    exact = np.argsort(-(query_vectors @ vectors.T), axis=1)[:, :5]
    root = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
    lines = []
    try:
        store = open_engine(kind, root)
        build_s = fill(store, vectors)
        store.close()
        for ef in efs if kind == "edge" else [0]:
            started = time.perf_counter()
            store = open_engine(kind, root, ef=ef)
            store.search(query_vectors[0], 5)
            load_s = time.perf_counter() - started
            latencies, recalls = [], []
            for q, vector in enumerate(query_vectors):
                started = time.perf_counter()
                hits = store.search(vector, 5)
                latencies.append(time.perf_counter() - started)
                found = {int(h.doc_id.split("-")[1]) + h.chunk_index for h in hits}
                recalls.append(len(found & set(exact[q].tolist())) / 5)
            store.close()
            label = f"{kind} (hnsw_ef={ef})" if kind == "edge" else "qdrant-client local (exact)"
            lines.append(
                f"| {label} | {size:,} | {build_s:.1f} s | {load_s:.2f} s "
                f"| {summary_ms(latencies)} | {np.mean(recalls):.3f} |"
            )
            print(lines[-1], flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--engines", nargs="+", default=["edge", "local"])
    parser.add_argument("--efs", type=int, nargs="+", default=[64, 128, 256])
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print("| engine | chunks | index build | open + first query | query latency | recall@5 |")
    print("|---|---|---|---|---|---|")
    for size in args.sizes:
        for kind in args.engines:
            measure(kind, size, args.queries, args.efs)


if __name__ == "__main__":
    main()
