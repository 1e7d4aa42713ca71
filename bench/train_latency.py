"""Query latency with a trained query encoder against the document encoder (issue 13).

A trained query encoder is a fine-tuned copy of the document encoder: same architecture, same
tokenizer, so a question should cost the same. This times ``Embedder.embed_query`` (what every
question pays) for the shipped questions, both encoders in one process, rounds interleaved.

  .venv/bin/python bench/train_latency.py --models DATA_DIR/models --questions samples/eval-python-docs.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from bot.config import EmbeddingConfig
from bot.embedder import Embedder
from bot.train.registry import Registry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, required=True, help="a data dir's models/ holding a query-<n>")
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in args.questions.read_text().splitlines() if line.strip()]
    version = Registry(args.models).versions()[-1]
    embedder = Embedder(EmbeddingConfig(threads=args.threads))
    trained = embedder.with_query_encoder(embedder.load_query_encoder(version.encoder_path, version.name))
    base = embedder.with_query_encoder(None)
    timings: dict[str, list[float]] = {"document encoder": [], version.name: []}
    for _ in range(args.rounds):
        for name, which in (("document encoder", base), (version.name, trained)):
            for question in questions:
                started = time.perf_counter()
                which.embed_query(question)
                timings[name].append((time.perf_counter() - started) * 1000)
    for name, values in timings.items():
        ordered = sorted(values)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        print(f"{name}: median {statistics.median(values):.2f} ms, p95 {p95:.2f} ms over {len(values)} questions")
    ratio = statistics.median(timings[version.name]) / statistics.median(timings["document encoder"])
    print(f"trained / document encoder median latency: {ratio:.2f}x")


if __name__ == "__main__":
    main()
