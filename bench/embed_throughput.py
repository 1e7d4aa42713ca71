"""Embedding throughput: ragbot's Embedder vs sentence-transformers' encode, same chunks, same run.

.venv/bin/python bench/embed_throughput.py [--chunks 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import corpus_chunks, machine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    from sentence_transformers import SentenceTransformer

    from bot.config import EmbeddingConfig
    from bot.embedder import Embedder, resolve_embedding_model

    texts = corpus_chunks(args.chunks)
    ours = Embedder(EmbeddingConfig(batch_size=args.batch_size))
    ours.embed(texts[:8])  # load
    reference = SentenceTransformer(resolve_embedding_model("all-MiniLM-L6-v2"), device="cpu")
    reference.encode(texts[:8])

    ours_s: list[float] = []
    theirs_s: list[float] = []
    for _ in range(args.rounds):  # interleaved so machine noise hits both alike
        started = time.perf_counter()
        a = ours.embed(texts)
        ours_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        b = reference.encode(texts, batch_size=args.batch_size, normalize_embeddings=True)
        theirs_s.append(time.perf_counter() - started)
    agreement = float((a * b).sum(axis=1).min())

    ours_rate = len(texts) / statistics.median(ours_s)
    theirs_rate = len(texts) / statistics.median(theirs_s)
    print(f"machine: {machine()}")
    print(f"chunks: {len(texts)}, batch size {args.batch_size}, {args.rounds} rounds (median)")
    print(f"ragbot Embedder:                 {ours_rate:8.1f} chunks/s")
    print(f"sentence-transformers encode:    {theirs_rate:8.1f} chunks/s")
    print(f"ratio ragbot / sentence-transformers: {ours_rate / theirs_rate:.2f}x")
    print(f"min cosine between the two outputs: {agreement:.6f}")


if __name__ == "__main__":
    main()
