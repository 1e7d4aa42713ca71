"""Embedding throughput: ragbot's Embedder (fp32 and int8) vs sentence-transformers' encode,
same chunks, same run.

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
    int8 = Embedder(EmbeddingConfig(batch_size=args.batch_size, precision="int8"))
    reference = SentenceTransformer(resolve_embedding_model("all-MiniLM-L6-v2"), device="cpu")
    encoders = {
        "ragbot Embedder fp32": ours.embed,
        "ragbot Embedder int8 (ONNX Runtime)": int8.embed,
        "sentence-transformers encode fp32": lambda t: reference.encode(
            t, batch_size=args.batch_size, normalize_embeddings=True
        ),
    }
    for encode in encoders.values():
        encode(texts[:8])  # load (and, for int8, build the quantised model once)

    seconds: dict[str, list[float]] = {name: [] for name in encoders}
    outputs = {}
    for _ in range(args.rounds):  # interleaved so machine noise hits all alike
        for name, encode in encoders.items():
            started = time.perf_counter()
            outputs[name] = encode(texts)
            seconds[name].append(time.perf_counter() - started)

    rates = {name: len(texts) / statistics.median(values) for name, values in seconds.items()}
    baseline = rates["sentence-transformers encode fp32"]
    reference_vectors = outputs["sentence-transformers encode fp32"]
    print(f"machine: {machine()}")
    print(f"chunks: {len(texts)}, batch size {args.batch_size}, {args.rounds} rounds (median)")
    print("| encoder | chunks/s | vs sentence-transformers fp32 | min cosine to it |")
    print("|---|---|---|---|")
    for name, rate in rates.items():
        agreement = float((outputs[name] * reference_vectors).sum(axis=1).min())
        print(f"| {name} | {rate:.1f} | {rate / baseline:.2f}x | {agreement:.6f} |")


if __name__ == "__main__":
    main()
