"""Where the embedded store stops meeting 50 ms p95, and what it costs in memory and disk.

    .venv/bin/python bench/store_scale.py [--sizes 100000 300000 600000 1000000] [--int8-at 200000]

One Qdrant Edge store grows through the sizes (ragbot's own EdgeStore: per-document upserts,
then optimize, as `ragbot index` does); at each size it is closed and reopened, and 300
queries measure latency through `store.search` (the live-chunk filter included). Vectors are
384-d and clustered like real embeddings; every chunk carries a ~1 KB text payload like a real
one. RSS is the process's resident memory after reopening and querying, minus the baseline
before opening. A second store at one size compares int8 scalar quantisation.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import machine, percentile  # noqa: E402
from bot.config import StoreConfig  # noqa: E402
from bot.models import Chunk  # noqa: E402
from bot.store.edge import EdgeStore  # noqa: E402

DIM = 384
CHUNKS_PER_DOC = 10
TEXT = ("Deploys go through the release pipeline and are rolled back with one command. " * 13)[:1000]
CENTRES = np.random.default_rng(0).normal(size=(2000, DIM)).astype(np.float32)


def vectors_for(start: int, count: int) -> np.ndarray:
    rng = np.random.default_rng(start + 1)
    raw = CENTRES[rng.integers(0, len(CENTRES), count)] + 0.9 * rng.normal(size=(count, DIM)).astype(np.float32)
    return raw / np.linalg.norm(raw, axis=1, keepdims=True)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def disk_mib(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


def grow(store: EdgeStore, start: int, end: int) -> None:
    for d in range(start, end, 1000):
        block = vectors_for(d, min(1000, end - d))
        for offset in range(0, len(block), CHUNKS_PER_DOC):
            doc = d + offset
            chunks = [
                Chunk(f"doc-{doc}", i, "bench", f"https://docs.example/{doc}#s{i}", f"Doc {doc}", f"S{i}", TEXT, "h")
                for i in range(min(CHUNKS_PER_DOC, len(block) - offset))
            ]
            store.replace_document(chunks, block[offset : offset + len(chunks)])
    store.finish_batch()


def measure(folder: Path, config: StoreConfig, size: int, queries: int) -> str:
    base = rss_mib()
    started = time.perf_counter()
    store = EdgeStore(folder, config)
    probes = vectors_for(10**9, queries)
    store.search(probes[0], 5)
    opened_s = time.perf_counter() - started
    latencies = []
    for vector in probes:
        t = time.perf_counter()
        store.search(vector, 5)
        latencies.append((time.perf_counter() - t) * 1000)
    rss = rss_mib() - base
    store.close()
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    verdict = "yes" if p95 <= 50 else "**no**"
    label = config.quantization + (" + originals on disk" if config.on_disk else "")
    return (
        f"| {label} | {size:,} | {opened_s:.2f} s | p50 {p50:.1f} ms, p95 {p95:.1f} ms | {verdict} "
        f"| {rss:,.0f} MiB | {disk_mib(folder):,.0f} MiB |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 300_000, 600_000, 1_000_000])
    parser.add_argument("--int8-at", type=int, default=200_000)
    parser.add_argument("--on-disk", action="store_true", help="int8 comparison with the original vectors on disk")
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    print(f"machine: {machine()}, pid {os.getpid()}")
    print("| quantization | chunks | open + first query | query latency | p95 <= 50 ms | RSS (engine) | disk |")
    print("|---|---|---|---|---|---|---|")
    root = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        if args.int8_at:
            for quantization in ("none", "int8"):
                config = StoreConfig(quantization=quantization, on_disk=args.on_disk)
                folder = root / f"q-{quantization}"
                store = EdgeStore(folder, config)
                store.ensure_collection(DIM, "bench")
                grow(store, 0, args.int8_at)
                store.close()
                print(measure(folder, config, args.int8_at, args.queries), flush=True)
                shutil.rmtree(folder)
        config = StoreConfig()
        folder = root / "grow"
        done = 0
        for size in sorted(args.sizes):
            started = time.perf_counter()
            store = EdgeStore(folder, config)
            store.ensure_collection(DIM, "bench")
            grow(store, done, size)
            store.close()
            done = size
            print(f"<!-- grown to {size:,} in {time.perf_counter() - started:.0f} s -->", flush=True)
            print(measure(folder, config, size, args.queries), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
