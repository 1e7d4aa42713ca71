"""Choose `[training]` settings on the tuning set, never on the reported questions (issue 13).

Trains query encoders in-process on an indexed data dir (read only: nothing is written to it)
with a few settings, and scores each on a tuning question set by dense page ranking (the
stored vectors, the trained query encoder, top chunks grouped by page): MRR@10 and hit@1,
against the document encoder. Cheap enough to compare settings; the reported figures come
from bench/train_retrieval.py and the real answer path.

  .venv/bin/python bench/train_tune.py --data COPY_OF_DATA_DIR --questions samples/tune-python-docs.jsonl \\
      --variant base --variant lr=5e-6 --variant anchor=1.0
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np
import torch

from bot.config import EmbeddingConfig, Settings
from bot.core import NOT_FOUND_TEXT
from bot.embedder import Embedder, resolve_embedding_model
from bot.store import open_store
from bot.train.config import TrainingConfig
from bot.train.corpus import load_corpus, page_of
from bot.train.dataset import build_dataset
from bot.train.mine import top_rows
from bot.train.retriever import QueryEncoderTrainer
from bot.train.run import _examples


def page_ranks(vectors: np.ndarray, corpus, cases: list[dict]) -> list[int | None]:  # type: ignore[no-untyped-def]
    ranks = []
    for row, case in zip(top_rows(vectors, corpus, 200), cases):
        pages: list[str] = []
        for chunk in row:
            page = corpus.page(int(chunk))
            if page not in pages:
                pages.append(page)
        expected = {page_of(u) for u in case["expected_urls"]}
        ranks.append(next((i + 1 for i, page in enumerate(pages[:10]) if page in expected), None))
    return ranks


def figures(ranks: list[int | None]) -> dict[str, float]:
    return {
        "hit@1": round(sum(r == 1 for r in ranks) / len(ranks), 4),
        "mrr@10": round(sum(1 / r for r in ranks if r) / len(ranks), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--variant", action="append", default=[], help="base, or key=value[,key=value] of [training]")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cases = [json.loads(line) for line in args.questions.read_text().splitlines() if line.strip()]
    cases = [c for c in cases if c.get("answerable", True) and c.get("expected_urls")]
    store = open_store(Settings(data_dir=args.data))
    corpus = load_corpus(store)
    embedder = Embedder(EmbeddingConfig(threads=args.threads))
    base = embedder.with_query_encoder(None)
    questions = [c["question"] for c in cases]
    print("document encoder", figures(page_ranks(base.embed_queries(questions), corpus, cases)), flush=True)
    for variant in args.variant:
        values = dict(item.split("=", 1) for item in variant.split(",") if "=" in item)
        config = TrainingConfig(**{"threads": args.threads, **values})
        data = build_dataset(corpus, config, 0, [], [], NOT_FOUND_TEXT, True)
        started = time.monotonic()
        examples, units = _examples(data, corpus, base, config, None, time.monotonic() + 3600, lambda *a: None)
        planned = min(config.steps, int(np.ceil(config.epochs * len(examples) / config.batch_size)))
        random.seed(0)
        trainer = QueryEncoderTrainer(resolve_embedding_model("all-MiniLM-L6-v2"), config, planned, 0)
        checkpoint = Path(f"/tmp/train-tune-{abs(hash(variant))}.pt")
        checkpoint.unlink(missing_ok=True)
        outcome = trainer.train(examples, corpus, units, planned, 0, time.monotonic() + 3600, checkpoint)
        checkpoint.unlink(missing_ok=True)
        trainer.model.eval()
        with torch.inference_mode():
            vectors = torch.cat([trainer.encode(questions[i : i + 32]) for i in range(0, len(questions), 32)]).numpy()
            held = [p for p in data.heldout if p.answerable]
            held_vectors = torch.cat(
                [trainer.encode([p.query for p in held[i : i + 32]]) for i in range(0, len(held), 32)]
            ).numpy()
        held_cases = [{"expected_urls": [corpus.passages[p.positives[0]].url]} for p in held]
        print(
            variant,
            "tune",
            figures(page_ranks(vectors, corpus, cases)),
            "held-out pseudo-queries",
            figures(page_ranks(held_vectors, corpus, held_cases)),
            "vs",
            figures(page_ranks(base.embed_queries([p.query for p in held]), corpus, held_cases)),
            f"{outcome.steps} steps {time.monotonic() - started:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
