"""``[training]``: what ``ragbot train`` learns from, how long it may take, and when it runs.

The defaults fit a 2-core CPU: a few hundred steps of the small query encoder on short
questions (a minute or two), bounded by ``max_minutes`` whatever the data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from bot.config import Section

__all__ = ["TrainingConfig"]


class TrainingConfig(Section):
    # Scheduled runs (cron, under the scheduler) and chat runs (/ragbot train, Discord /train).
    schedule: str | None = None  # e.g. "0 3 * * *": nightly
    require_new_feedback: bool = True  # a scheduled run trains only when votes arrived since the last model
    qa: list[Path] = []  # QA files (ragbot eval format) every run uses; `--qa` adds more
    corpus: bool = True  # pseudo-queries from the index itself
    feedback: bool = True  # 👍/👎 from chat
    max_minutes: float = Field(default=15.0, gt=0)  # the whole run, held-out evaluation included
    seed: int = 0

    # Data.
    heldout_fraction: float = Field(default=0.2, gt=0, lt=1)  # of QA and feedback questions, and of documents
    heldout_max: int = Field(default=200, ge=10)  # held-out questions evaluated at most (sampled)
    corpus_pairs: int = Field(default=4000, ge=0)  # pseudo-queries trained on at most (sampled)
    # How pseudo-queries are made (doc2query only where generator.backend = "transformers").
    corpus_methods: list[Literal["heading", "first_sentence", "identifier", "doc2query"]] = [
        "heading",
        "first_sentence",
        "identifier",
        "doc2query",
    ]
    doc2query: int = Field(default=200, ge=0)  # chunks a model generator writes questions for (transformers)
    hard_negatives: int = Field(default=7, ge=0)

    # The query encoder.
    steps: int = Field(default=300, ge=0)  # at most ...
    epochs: float = Field(default=2.0, gt=0)  # ... and at most this many passes (small sets overfit)
    batch_size: int = Field(default=32, ge=2)
    # Chosen on samples/tune-python-docs.jsonl (bench/train_tune.py): 2e-5 moved questions off the
    # frozen document vectors (dense MRR@10 0.857 -> 0.818); 5e-6 kept them (0.855).
    learning_rate: float = Field(default=5e-6, ge=0)
    scale: float = Field(default=20.0, gt=0)  # 1 / temperature of p(z|x) = softmax(scale * q.d)
    ml_weight: float = Field(default=0.5, ge=0)  # weight of the marginal-likelihood term
    ml_top_k: int = Field(default=8, ge=1)  # passages z the marginal likelihood sums over
    ml_pairs: int = Field(default=200, ge=0)  # pairs whose answer units are embedded for the extractive term
    # Keeps each question's new vector near the document encoder's (weight of 1 - cosine): the
    # document vectors are frozen, so a query encoder that wanders off their space loses them.
    anchor_weight: float = Field(default=0.0, ge=0)
    checkpoint_every_s: float = Field(default=60.0, gt=0)
    # torch CPU threads while training (default: torch's choice). On a CPU other processes share,
    # 1 is often faster than 2: the threads of a step wait for each other (docs/benchmarks.md).
    threads: int | None = Field(default=None, ge=1)

    # The generator (LoRA on the `transformers` model; `ragbot train --generator`).
    generator_steps: int = Field(default=200, ge=0)
    generator_learning_rate: float = Field(default=2e-4, ge=0)
    lora_rank: int = Field(default=8, ge=1)
