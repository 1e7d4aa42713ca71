"""Embedding throughput: ragbot's Embedder (fp32 and int8) vs sentence-transformers' encode,
same chunks, same run.

.venv/bin/python bench/embed_throughput.py [--chunks 2000] [--rounds 3] [--batch-sweep]

Each encoder runs at its default batch size (ragbot fp32: 8, ragbot int8: 4,
sentence-transformers: 32), and the fp32 encoders at the other one too, so the batch effect is
visible. ``--batch-sweep`` adds a table of chunks/s per batch size for both ragbot engines.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import corpus_chunks, machine  # noqa: E402

BASELINE = "sentence-transformers fp32, batch 32"


def timed(encoders: dict[str, Callable[[list[str]], np.ndarray]], texts: list[str], rounds: int):  # type: ignore[no-untyped-def]
    """Median chunks/s per encoder, rounds interleaved so machine noise hits all alike; and outputs."""
    for encode in encoders.values():
        encode(texts[:8])  # load (and, for int8, build the quantised model once)
    seconds: dict[str, list[float]] = {name: [] for name in encoders}
    outputs = {}
    for _ in range(rounds):
        for name, encode in encoders.items():
            started = time.perf_counter()
            outputs[name] = encode(texts)
            seconds[name].append(time.perf_counter() - started)
    return {name: len(texts) / statistics.median(values) for name, values in seconds.items()}, outputs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-sweep", action="store_true")
    args = parser.parse_args()

    from sentence_transformers import SentenceTransformer

    from bot.config import EmbeddingConfig
    from bot.embedder import Embedder, resolve_embedding_model

    texts = corpus_chunks(args.chunks)
    fp32 = Embedder(EmbeddingConfig())
    fp32_batched = Embedder(EmbeddingConfig(batch_size=32))
    int8 = Embedder(EmbeddingConfig(precision="int8"))
    reference = SentenceTransformer(resolve_embedding_model("all-MiniLM-L6-v2"), device="cpu")

    def st(batch: int) -> Callable[[list[str]], np.ndarray]:
        return lambda t: reference.encode(t, batch_size=batch, normalize_embeddings=True)

    encoders = {
        f"ragbot fp32 (transformers), batch {fp32.batch_size} (default)": fp32.embed,
        "ragbot fp32 (transformers), batch 32": fp32_batched.embed,
        f"ragbot int8 (ONNX Runtime), batch {int8.batch_size} (default)": int8.embed,
        BASELINE: st(32),
        "sentence-transformers fp32, batch 8": st(8),
    }
    rates, outputs = timed(encoders, texts, args.rounds)
    baseline = rates[BASELINE]
    reference_vectors = outputs[BASELINE]
    print(f"machine: {machine()}")
    print(f"chunks: {len(texts)}, {args.rounds} rounds (median)")
    print("| encoder | chunks/s | vs sentence-transformers fp32 (batch 32) | min cosine to it |")
    print("|---|---|---|---|")
    for name, rate in rates.items():
        agreement = float((outputs[name] * reference_vectors).sum(axis=1).min())
        print(f"| {name} | {rate:.1f} | {rate / baseline:.2f}x | {agreement:.6f} |")

    if args.batch_sweep:
        sizes = [1, 2, 4, 8, 16, 32, 64]
        sweep = {}
        for size in sizes:
            sweep[f"fp32 {size}"] = Embedder(EmbeddingConfig(batch_size=size)).embed
            sweep[f"int8 {size}"] = Embedder(EmbeddingConfig(precision="int8", batch_size=size)).embed
        sweep_rates, _ = timed(sweep, texts[:300], args.rounds)
        print("\n| batch size | ragbot fp32 chunks/s | ragbot int8 chunks/s |")
        print("|---|---|---|")
        for size in sizes:
            print(f"| {size} | {sweep_rates[f'fp32 {size}']:.1f} | {sweep_rates[f'int8 {size}']:.1f} |")


if __name__ == "__main__":
    main()
