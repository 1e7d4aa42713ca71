"""Fine-tune a copy of the query encoder against the frozen document vectors.

Only questions go through the model being trained (short texts: a step of 32 questions takes
a fraction of a second on a laptop CPU); every document vector comes from the index. Training
is deterministic for a seed and resumable: the model, optimiser, learning-rate schedule, step
and random state are checkpointed, and a rerun with the same data continues where it stopped.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from bot.train.config import TrainingConfig
from bot.train.corpus import Corpus
from bot.train.loss import MASKED, contrastive_loss, marginal_likelihood_loss

__all__ = ["Example", "UnitTable", "QueryEncoderTrainer", "TrainOutcome", "QUERY_MAX_TOKENS"]

log = logging.getLogger(__name__)

QUERY_MAX_TOKENS = 64  # questions are short; the document side keeps its own 256


@dataclass(frozen=True)
class Example:
    """A pair ready for training: its positives, its negatives (mined, then 👎), and what the
    generator says about its answer: ``answer_units`` (row -> index of the answer unit among that
    chunk's units, extractive) or ``answer_logp`` (row -> log p_LM(answer | question, chunk))."""

    query: str
    positives: tuple[int, ...]
    negatives: tuple[int, ...]
    explicit_negatives: tuple[int, ...] = ()
    answer_units: dict[int, int] = field(default_factory=dict)
    answer_logp: dict[int, float] = field(default_factory=dict)
    base_vector: np.ndarray | None = None  # the document encoder's vector of the question (anchor term)


@dataclass
class UnitTable:
    """Document-encoder vectors of the answer units of some chunks: rows ``spans[row]`` of ``vectors``."""

    vectors: np.ndarray
    spans: dict[int, tuple[int, int]]  # corpus row -> (first unit, unit count)


@dataclass
class TrainOutcome:
    steps: int  # steps done in total (a resumed run counts the earlier ones)
    planned: int
    seconds: float
    resumed_from: int
    losses: list[float]

    @property
    def stopped_early(self) -> bool:
        return self.steps < self.planned


class QueryEncoderTrainer:
    """The trainable copy of the encoder, its optimiser and schedule, and one training step."""

    def __init__(self, base_path: str, config: TrainingConfig, planned_steps: int, seed: int) -> None:
        from transformers import AutoModel, AutoTokenizer

        torch.manual_seed(seed)
        self.config = config
        self.tokenizer = AutoTokenizer.from_pretrained(base_path)
        self.model = AutoModel.from_pretrained(base_path)
        self.model.train()
        # The word embeddings are half the weights; they stay as they are: cheaper steps, and the
        # vocabulary keeps meaning what the document encoder reads it as.
        self.model.get_input_embeddings().weight.requires_grad_(False)
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=0.01)
        warmup = max(1, planned_steps // 10)

        def schedule(step: int) -> float:  # linear warm-up, then linear decay to 0 at the planned end
            if step < warmup:
                return (step + 1) / warmup
            return max(0.0, (planned_steps - step) / max(1, planned_steps - warmup))

        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, schedule)

    def encode(self, texts: list[str]) -> torch.Tensor:
        encoded = self.tokenizer(texts, padding=True, truncation=True, max_length=QUERY_MAX_TOKENS, return_tensors="pt")
        hidden = self.model(**encoded).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1)

    def step(self, batch: list[Example], corpus: Corpus, units: UnitTable | None) -> float:
        """One optimiser step on a batch; returns the loss."""
        candidates = sorted({row for e in batch for row in (*e.positives, *e.negatives)})
        column = {row: j for j, row in enumerate(candidates)}
        positive = np.zeros((len(batch), len(candidates)), dtype=bool)
        negative = np.zeros_like(positive)
        valid = np.ones_like(positive)
        docs = np.array([corpus.doc(row) for row in candidates], dtype=object)
        for i, example in enumerate(batch):
            positive[i, [column[r] for r in example.positives]] = True
            negative[i, [column[r] for r in example.explicit_negatives]] = True
            own = {corpus.doc(r) for r in example.positives}
            if own:  # other chunks of a positive's document are neither right nor wrong
                valid[i] = ~np.isin(docs, list(own)) | positive[i]
        queries = self.encode([e.query for e in batch])
        documents = torch.from_numpy(corpus.vectors[candidates])
        logits = self.config.scale * queries @ documents.T
        pos_t, neg_t, valid_t = map(torch.from_numpy, (positive, negative, valid))
        loss = contrastive_loss(logits, pos_t, neg_t, valid_t).mean()
        answer = self._answer_logp(batch, queries, column, units)
        base_vectors = [e.base_vector for e in batch if e.base_vector is not None]
        if self.config.anchor_weight > 0 and len(base_vectors) == len(batch):
            anchors = torch.from_numpy(np.stack(base_vectors))
            loss = loss + self.config.anchor_weight * (1 - (queries * anchors).sum(dim=1)).mean()
        if answer is not None and self.config.ml_weight > 0:
            ml, defined = marginal_likelihood_loss(logits, valid_t, answer, self.config.ml_top_k)
            if bool(defined.any()):
                loss = loss + self.config.ml_weight * ml.sum() / defined.sum()
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.scheduler.step()
        return float(loss.detach())

    def _answer_logp(
        self, batch: list[Example], queries: torch.Tensor, column: dict[int, int], units: UnitTable | None
    ) -> torch.Tensor | None:
        """log p(y|x,z) per example and candidate: the answer unit's share of the softmax over the
        chunk's units (extractive; through the query encoder, so it trains too), or the LM's
        fixed likelihood (transformers); MASKED where the chunk can't produce the answer."""
        entries: list[tuple[int, int, torch.Tensor]] = []
        for i, example in enumerate(batch):
            for row, index in example.answer_units.items():
                if units is None or row not in units.spans or row not in column:
                    continue
                start, count = units.spans[row]
                unit_vectors = torch.from_numpy(units.vectors[start : start + count])
                scores = self.config.scale * queries[i] @ unit_vectors.T
                entries.append((i, column[row], torch.log_softmax(scores, dim=0)[index]))
            for row, value in example.answer_logp.items():
                if row in column:
                    entries.append((i, column[row], torch.tensor(value, dtype=queries.dtype)))
        if not entries:
            return None
        table = torch.full((len(batch), len(column)), MASKED, dtype=queries.dtype)
        rows = torch.tensor([e[0] for e in entries])
        cols = torch.tensor([e[1] for e in entries])
        return table.index_put((rows, cols), torch.stack([e[2] for e in entries]))

    # -- checkpoints ----------------------------------------------------------------
    def save_checkpoint(self, path: Path, step: int, losses: list[float]) -> None:
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "step": step,
            "losses": losses,
            "rng": torch.get_rng_state(),
        }
        partial = path.with_name(path.name + ".tmp")
        torch.save(state, partial)
        os.replace(partial, path)

    def load_checkpoint(self, path: Path) -> tuple[int, list[float]]:
        state = torch.load(path, weights_only=False)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"])
        return int(state["step"]), list(state["losses"])

    def save(self, folder: Path) -> None:
        self.model.eval()
        self.model.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)

    def train(
        self,
        examples: list[Example],
        corpus: Corpus,
        units: UnitTable | None,
        planned: int,
        seed: int,
        deadline: float,
        checkpoint: Path,
        progress: Callable[[int, int], None] | None = None,
    ) -> TrainOutcome:
        """Run up to ``planned`` steps, or until ``deadline`` (time.monotonic()); resume from
        ``checkpoint`` if it exists. The batch order is fixed by the seed, so a resumed run sees
        the same batches an uninterrupted one would."""
        started = time.monotonic()
        step, losses = self.load_checkpoint(checkpoint) if checkpoint.exists() else (0, [])
        resumed_from = step
        if resumed_from:
            log.info("resuming training at step %d of %d", step, planned)
        order = _batch_order(len(examples), self.config.batch_size, planned, seed)
        saved = time.monotonic()
        while step < planned and examples and time.monotonic() < deadline:
            batch = [examples[i] for i in order[step]]
            losses.append(round(self.step(batch, corpus, units), 4))
            step += 1
            if progress is not None:
                progress(step, planned)
            if time.monotonic() - saved >= self.config.checkpoint_every_s:
                self.save_checkpoint(checkpoint, step, losses)
                saved = time.monotonic()
        if step > resumed_from:
            self.save_checkpoint(checkpoint, step, losses)
        return TrainOutcome(step, planned, time.monotonic() - started, resumed_from, losses)


def _batch_order(count: int, batch_size: int, steps: int, seed: int) -> list[list[int]]:
    """Batches for ``steps`` steps: one shuffled pass over the examples after another."""
    if count == 0:
        return []
    size = min(batch_size, count)
    batches: list[list[int]] = []
    epoch = 0
    while len(batches) < steps:
        order = np.random.default_rng([seed, epoch]).permutation(count).tolist()
        batches.extend(order[start : start + size] for start in range(0, count - size + 1, size))
        epoch += 1
    return batches[:steps]
