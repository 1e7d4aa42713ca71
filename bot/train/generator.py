"""LoRA fine-tuning of the local `transformers` generator (``ragbot train --generator``).

Examples are (question, the passages the retriever finds, the answer with its [n] citation),
from QA files and 👍 answers. The prompt is the one the bot uses at answer time
(:func:`bot.generate.base.build_prompt`, all k passages), and the loss is the marginal
likelihood over which passage the answer comes from:

    -log p(answer | x, passages) - log sum_z p(z|x) p("[n_z]" | x, passages, answer)

with p(z|x) from the query encoder (fixed here). The answer text is shared by every z, so one
forward pass per example gives both terms. Only the LoRA weights train (peft); the adapter is
kept as ``models/generator-<n>/adapter/`` and used only if the held-out answers' per-token loss
went down.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from bot.generate.base import build_prompt
from bot.retriever import RetrievedSource

__all__ = ["GeneratorExample", "LoraOutcome", "train_lora", "heldout_loss"]

log = logging.getLogger(__name__)

_TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj"]
_MAX_PROMPT_TOKENS = 768


@dataclass(frozen=True)
class GeneratorExample:
    question: str
    sources: list[RetrievedSource]  # as retrieved, numbered 1..k
    weights: list[float]  # p(z|x) over the sources
    answer: str  # the reference answer without a citation


@dataclass
class LoraOutcome:
    steps: int
    planned: int
    seconds: float
    before: float  # held-out loss per answer token, base model
    after: float  # ... with the adapter
    losses: list[float]


def _citation_tokens(tokenizer, count: int) -> list[int]:
    """The token that follows " [" for each source number 1..count."""
    ids = []
    for n in range(1, count + 1):
        pieces = tokenizer(f" [{n}]", add_special_tokens=False).input_ids
        bracket = tokenizer(" [", add_special_tokens=False).input_ids
        ids.append(pieces[len(bracket)] if pieces[: len(bracket)] == bracket else pieces[-2])
    return ids


def example_loss(model, tokenizer, example: GeneratorExample) -> tuple[torch.Tensor, int]:
    """The marginal negative log-likelihood of one example, and its answer's token count."""
    prompt_ids = tokenizer(build_prompt(example.question, example.sources), return_tensors="pt").input_ids
    prompt_ids = prompt_ids[:, -_MAX_PROMPT_TOKENS:]
    answer_ids = tokenizer(f" {example.answer} [", add_special_tokens=False, return_tensors="pt").input_ids
    ids = torch.cat([prompt_ids, answer_ids], dim=1).to(model.device)
    logits = model(ids).logits[0].float()
    start = prompt_ids.shape[1]
    log_probs = torch.log_softmax(logits[start - 1 : -1], dim=-1)
    answer_nll = -log_probs.gather(1, ids[0, start:, None]).sum()
    cite = torch.log_softmax(logits[-1], dim=-1)[_citation_tokens(tokenizer, len(example.sources))]
    prior = torch.log(torch.tensor(example.weights, dtype=cite.dtype).clamp(min=1e-9))
    citation_nll = -torch.logsumexp(prior + cite, dim=0)
    return answer_nll + citation_nll, answer_ids.shape[1]


def heldout_loss(model, tokenizer, examples: list[GeneratorExample]) -> float:
    """Mean loss per answer token over ``examples`` (no gradients)."""
    total = tokens = 0.0
    with torch.inference_mode():
        for example in examples:
            loss, count = example_loss(model, tokenizer, example)
            total += float(loss)
            tokens += count
    return total / tokens if tokens else math.nan


def train_lora(
    lm: tuple[Any, Any],  # (model, tokenizer) from transformers: untyped
    train: list[GeneratorExample],
    heldout: list[GeneratorExample],
    steps: int,
    learning_rate: float,
    rank: int,
    seed: int,
    deadline: float,
    progress: Callable[[int, int], None] | None = None,
):
    """Train a LoRA adapter on ``lm`` (changed in place into a peft model); (peft model, outcome)."""
    from peft import LoraConfig, get_peft_model

    model, tokenizer = lm
    before = heldout_loss(model, tokenizer, heldout)
    torch.manual_seed(seed)
    config = LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.05, target_modules=_TARGET_MODULES)
    peft_model = get_peft_model(model, config)
    peft_model.train()
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=learning_rate)
    order = random.Random(seed)
    started = time.monotonic()
    losses: list[float] = []
    step = 0
    while step < steps and train and time.monotonic() < deadline:
        example = train[order.randrange(len(train))]
        loss, count = example_loss(peft_model, tokenizer, example)
        (loss / count).backward()
        torch.nn.utils.clip_grad_norm_([p for p in peft_model.parameters() if p.requires_grad], 1.0)
        optimizer.step()
        optimizer.zero_grad()
        losses.append(round(float(loss.detach()) / count, 4))
        step += 1
        if progress is not None:
            progress(step, steps)
    peft_model.eval()
    after = heldout_loss(peft_model, tokenizer, heldout)
    return peft_model, LoraOutcome(step, steps, time.monotonic() - started, before, after, losses)


def tune_generator(
    lm: tuple[Any, Any],  # (model, tokenizer) from transformers: untyped
    pairs_train: list,  # bot.train.pairs.Pair
    pairs_heldout: list,
    retrieve: Callable[[str], list[RetrievedSource]],
    scale: float,
    models_dir,
    base_model: str,
    fingerprint: str,
    config,  # TrainingConfig
    seed: int,
    deadline: float,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Build the examples, train, keep ``generator-<n>``, activate it if held-out loss went down;
    what happened, for the run's meta.json and summary."""
    from bot.train.registry import Registry

    def examples(pairs: list) -> list[GeneratorExample]:
        out = []
        for pair in pairs:
            if not pair.answer or pair.origin not in ("qa", "feedback"):
                continue
            sources = retrieve(pair.query)
            if not sources:
                continue
            scores = torch.tensor([scale * s.score for s in sources])
            out.append(GeneratorExample(pair.query, sources, torch.softmax(scores, 0).tolist(), pair.answer))
        return out

    train, heldout = examples(pairs_train), examples(pairs_heldout)
    if not train or not heldout:
        return {"trained": False, "reason": "no QA or 👍 answers with a known answer unit to train or judge on"}
    registry = Registry(models_dir, "generator")
    partial = registry.partial_run(f"{fingerprint}:{len(train)}:{len(heldout)}")
    model, outcome = train_lora(
        lm,
        train,
        heldout,
        config.generator_steps,
        config.generator_learning_rate,
        config.lora_rank,
        seed,
        deadline,
        progress,
    )
    model.save_pretrained(str(partial / "adapter"))
    better = outcome.after < outcome.before
    result = {
        "trained": True,
        "examples": {"train": len(train), "heldout": len(heldout)},
        "steps": outcome.steps,
        "planned_steps": outcome.planned,
        "seconds": round(outcome.seconds, 1),
        "heldout_loss_per_token": {"before": round(outcome.before, 4), "after": round(outcome.after, 4)},
        "activated": better,
        "base": base_model,
    }
    version = registry.publish(partial, result)
    if better:
        registry.activate(version)
    return {**result, "model": version.name}
