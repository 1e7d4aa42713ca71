"""One ``ragbot train`` run, end to end.

check the index -> read the QA files -> load the corpus (chunks and stored vectors) -> make pairs
(corpus, feedback, QA) and split off the held-out ones -> judge the current encoder on them ->
mine hard negatives -> ask the generator about the answers -> fine-tune a copy of the encoder
(seeded, checkpointed, within --max-minutes) -> judge it -> keep it as ``query-<n>`` -> activate it
only if held-out MRR@10 improved and nothing else dropped by more than one question.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.chatstate import ChatState
from bot.config import Settings
from bot.core import NOT_FOUND_TEXT, RagCore
from bot.embedder import Embedder, resolve_embedding_model
from bot.embedder_precision import fit_index
from bot.errors import IndexEmpty, InputError
from bot.train.answers import lm_answer_logp, unit_table
from bot.train.config import TrainingConfig
from bot.train.corpus import Corpus, load_corpus
from bot.train.dataset import Dataset, build_dataset
from bot.train.deploy import activate
from bot.train.generator import tune_generator
from bot.train.heldout import HeldoutMetrics, Judge, decide
from bot.train.mine import mine_hard_negatives
from bot.train.qa import QaLine, load_qa
from bot.train.registry import Registry
from bot.train.retriever import Example, QueryEncoderTrainer, UnitTable

__all__ = ["TrainOptions", "TrainReport", "run_training", "Progress"]

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (stage, done, total)
_SAVE_MARGIN_S = 10.0  # saving and loading the trained encoder


@dataclass(frozen=True)
class TrainOptions:
    qa_files: tuple[Path, ...] = ()
    corpus: bool = True
    feedback: bool = True
    generator: bool = False
    max_minutes: float = 15.0
    seed: int = 0


@dataclass
class TrainReport:
    model: str
    activated: bool
    reason: str
    pairs: dict[str, int]
    before: dict[str, Any]
    after: dict[str, Any]
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Exactly the object ``ragbot train --json`` prints."""
        return {
            "model": self.model,
            "activated": self.activated,
            "reason": self.reason,
            "pairs": self.pairs,
            "heldout": {"before": self.before, "after": self.after},
            "seconds": round(self.seconds, 1),
        }

    def summary(self) -> str:
        """A few lines for a chat reply or the terminal."""
        verdict = "activated" if self.activated else "not activated"
        pairs = ", ".join(f"{n} {place}" for place, n in self.pairs.items())
        rows = [f"Trained {self.model} in {self.seconds:.0f} s ({verdict}): {self.reason}.", f"Pairs: {pairs}."]
        for name in ("hit@1", "hit@5", "mrr@10", "refusal_accuracy"):
            old, new = self.before.get(name), self.after.get(name)
            if old is not None:
                rows.append(f"  {name}: {old:.3f} -> {new:.3f}")
        generator = self.details.get("generator")
        if generator and generator.get("trained"):
            loss = generator["heldout_loss_per_token"]
            verdict = "activated" if generator["activated"] else "not activated"
            rows.append(
                f"Generator {generator['model']} ({verdict}): held-out loss {loss['before']} -> {loss['after']}"
            )
        return "\n".join(rows)


def run_training(
    settings: Settings,
    training: TrainingConfig,
    core: RagCore,
    options: TrainOptions,
    chat_state: ChatState | None = None,
    progress: Progress | None = None,
) -> TrainReport:
    started = time.monotonic()
    deadline = started + options.max_minutes * 60
    if training.threads:
        import torch

        torch.set_num_threads(training.threads)
    report = progress or (lambda stage, done, total: None)
    if options.generator and settings.generator.backend != "transformers":
        raise InputError('--generator tunes the local model: set [generator] backend = "transformers"')
    qa: list[QaLine] = [line for path in options.qa_files for line in load_qa(path)]  # bad input fails first
    store, embedder = core.store, core.embedder
    if not store.collection_exists():
        raise IndexEmpty("the index is empty; run `ragbot index` before `ragbot train`")
    fit_index(embedder, store, embedder.dimension)  # StoreMismatch: another model, or another precision
    corpus = load_corpus(store)
    base = embedder.with_query_encoder(None)
    feedback = _feedback(chat_state) if options.feedback else []
    extra, lm = _model_questions(settings, training, options, corpus, base, deadline, report)
    data = build_dataset(corpus, training, options.seed, qa, feedback, NOT_FOUND_TEXT, options.corpus, extra)
    if not data.train:
        raise InputError(
            "nothing to train on: no pseudo-queries from the index (--no-corpus, or [training] corpus_methods made "
            "none), no usable QA lines and no feedback; add --qa FILE.jsonl"
        )
    registry = Registry(settings.data_dir / "models")
    partial = registry.partial_run(_fingerprint(settings, training, options, data, embedder))
    current = embedder.query_encoder()
    evaluation = Judge(settings)
    eval_started = time.monotonic()
    before = _cached(
        partial / "before.json", lambda: evaluation.run(core, embedder, current, data.heldout, corpus, report)
    )
    eval_seconds = time.monotonic() - eval_started
    prepared_seconds = eval_started - started

    examples_started = time.monotonic()
    examples, units = _examples(data, corpus, base, training, lm, deadline, report)
    examples_seconds = time.monotonic() - examples_started
    batch = min(training.batch_size, len(examples))
    planned = min(training.steps, math.ceil(training.epochs * len(examples) / batch))
    trainer = QueryEncoderTrainer(resolve_embedding_model(settings.embedding.model), training, planned, options.seed)
    train_deadline = deadline - eval_seconds * 1.1 - _SAVE_MARGIN_S
    outcome = trainer.train(
        examples,
        corpus,
        units,
        planned,
        options.seed,
        train_deadline,
        partial / "checkpoint.pt",
        lambda done, total: report("training", done, total),
    )
    trainer.save(partial / "encoder")
    name = partial.name.removesuffix(".partial")
    candidate = embedder.load_query_encoder(partial / "encoder", name)
    after = evaluation.run(core, embedder, candidate, data.heldout, corpus, report)
    activated, reason = decide(before, after)
    if outcome.stopped_early:
        reason += f" (training stopped at step {outcome.steps} of {outcome.planned}: --max-minutes)"
    meta = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "base": settings.embedding.model,
        "document_model": embedder.model_name,
        "document_fingerprint": embedder.document_fingerprint,
        "compared_with": current.name if current else "base",
        "training": json.loads(training.model_dump_json()),
        "options": {**options.__dict__, "qa_files": [str(p) for p in options.qa_files]},
        "pairs": data.counts(),
        "methods": data.by_method(),
        "feedback_votes": len(feedback),
        "heldout": {"before": before.as_json(), "after": after.as_json(), "questions": len(data.heldout)},
        "steps": outcome.steps,
        "planned_steps": outcome.planned,
        "resumed_from": outcome.resumed_from,
        "prepare_seconds": round(prepared_seconds, 1),
        "eval_seconds": round(eval_seconds, 1),
        "examples_seconds": round(examples_seconds, 1),
        "train_seconds": round(outcome.seconds, 1),
        "final_loss": outcome.losses[-1] if outcome.losses else None,
        "activated": activated,
        "reason": reason,
    }
    if options.generator and lm is not None:
        live = candidate if activated else current
        judge = evaluation.core(core, embedder, live)
        meta["generator"] = tune_generator(
            lm,
            data.train,
            data.heldout,
            lambda q: judge.retriever.retrieve(q, settings.retrieval.k),
            training.scale,
            settings.data_dir / "models",
            settings.generator.model,
            embedder.document_fingerprint,
            training,
            options.seed,
            deadline,
            lambda done, total: report("generator (LoRA)", done, total),
        )
    version = registry.publish(partial, meta)
    if activated:
        activate(registry, version, store, embedder)
    return TrainReport(
        model=version.name,
        activated=activated,
        reason=reason,
        pairs=data.counts(),
        before=before.as_json(),
        after=after.as_json(),
        seconds=time.monotonic() - started,
        details=meta,
    )


def _feedback(chat_state: ChatState | None) -> list:
    records = chat_state.feedback() if chat_state is not None else []
    if not records:
        log.warning("no feedback votes stored yet (👍/👎 in chat); training without feedback")
    return records


def _model_questions(settings, training, options, corpus, base, deadline, report):
    """doc2query pairs and the loaded LM, where a local model generator is configured."""
    if settings.generator.backend != "transformers":
        return [], None
    from bot.generate.transformers_lm import TransformersGenerator

    lm = TransformersGenerator(settings.generator, settings.data_dir / "models").loaded_model()
    if not options.corpus or training.doc2query == 0 or "doc2query" not in training.corpus_methods:
        return [], lm
    from bot.train.doc2query import write_questions

    budget = time.monotonic() + (deadline - time.monotonic()) * 0.25
    pairs, _ = write_questions(
        lm,
        corpus,
        base.embed_queries,
        training.doc2query,
        options.seed,
        budget,
        lambda done, total: report("doc2query", done, total),
    )
    return pairs, lm


def _examples(
    data: Dataset,
    corpus: Corpus,
    base: Embedder,
    training: TrainingConfig,
    lm: tuple[object, object] | None,
    deadline: float,
    report: Progress,
) -> tuple[list[Example], UnitTable | None]:
    """Training pairs with their mined negatives and what the generator says about their answers."""
    pairs = data.train
    vectors = base.embed_queries([p.query for p in pairs])
    negatives = mine_hard_negatives(pairs, vectors, corpus, training.hard_negatives)
    units, where = unit_table([(p.answer, p.positives) for p in pairs], corpus, base, training.ml_pairs)
    lm_scores: list[dict[int, float]] = [{} for _ in pairs]
    if lm is not None and training.ml_weight > 0:
        labelled = [i for i, p in enumerate(pairs) if p.answer and p.origin in ("qa", "feedback")]
        items = [(pairs[i].query, pairs[i].answer, tuple(negatives[i][:3]) + pairs[i].positives[:3]) for i in labelled]
        budget = time.monotonic() + (deadline - time.monotonic()) * 0.25
        scored = lm_answer_logp(lm, items, corpus, budget, lambda done, total: report("answer likelihood", done, total))
        for i, scores in zip(labelled, scored):
            lm_scores[i] = scores
    examples = [
        Example(
            query=pair.query,
            positives=pair.positives,
            negatives=negatives[i],
            explicit_negatives=pair.negatives,
            answer_units={} if lm is not None else where[i],
            answer_logp=lm_scores[i],
            base_vector=vectors[i],
        )
        for i, pair in enumerate(pairs)
    ]
    return examples, (None if lm is not None else units)


def _fingerprint(settings: Settings, training: TrainingConfig, options: TrainOptions, data: Dataset, embedder) -> str:
    """Same data, settings and seed: an interrupted run with this fingerprint is resumed."""
    digest = hashlib.sha256()
    digest.update(training.model_dump_json(exclude={"schedule", "max_minutes"}).encode())
    digest.update(json.dumps([options.seed, options.corpus, options.feedback, settings.embedding.model]).encode())
    digest.update(embedder.document_fingerprint.encode())
    digest.update(embedder.query_encoder_name.encode())  # the encoder the cached held-out figures are for
    for pair in data.train + data.heldout:
        digest.update(json.dumps([pair.query, pair.positives, pair.negatives, pair.answer]).encode())
    return digest.hexdigest()[:24]


def _cached(path: Path, compute: Callable[[], HeldoutMetrics]) -> HeldoutMetrics:
    """The current encoder's held-out figures, kept with a partial run so a resume skips them."""
    if path.is_file():
        return HeldoutMetrics(**json.loads(path.read_text(encoding="utf-8")))
    metrics = compute()
    path.write_text(json.dumps(metrics.__dict__), encoding="utf-8")
    return metrics
