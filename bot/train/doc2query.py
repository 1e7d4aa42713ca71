"""Model-written pseudo-queries (doc2query / InPars): the configured language model writes a
question for a chunk, and the question is kept only if the chunk's page comes back for it from
the current retriever's top ``_KEEP_RANK`` (a question its own passage can't be found by is
more likely a bad question than a hard one)."""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bot.train.corpus import Corpus
from bot.train.mine import top_rows
from bot.train.pairs import Pair

__all__ = ["write_questions"]

log = logging.getLogger(__name__)

_KEEP_RANK = 5  # pages, from the retriever's top chunks
_PASSAGE_CHARS = 700
_MAX_NEW_TOKENS = 28
# A question in form: a small base model often continues the passage instead of asking.
_QUESTION = re.compile(
    r"^(?:how|what|whats|when|where|why|who|which|can|could|do|does|did|is|are|should|will|would)\b[^?]{3,}\?$", re.I
)


def write_questions(
    lm: tuple[Any, Any],  # (model, tokenizer) from transformers: untyped
    corpus: Corpus,
    encode: Callable[[list[str]], np.ndarray],
    count: int,
    seed: int,
    deadline: float,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Pair], int]:
    """Questions for up to ``count`` chunks (sampled with ``seed``), until ``deadline``;
    (kept pairs, chunks a question in question form was written for)."""
    import torch

    model, tokenizer = lm
    rows = random.Random(seed).sample(range(len(corpus)), min(count, len(corpus)))
    written: list[tuple[int, str]] = []
    for done, row in enumerate(rows, start=1):
        if time.monotonic() >= deadline:
            break
        passage = corpus.passages[row]
        heading = " > ".join(part for part in (passage.title, passage.section) if part)
        prompt = (
            f"Passage ({heading}):\n{passage.text[:_PASSAGE_CHARS]}\n\n"
            "Write one short question a colleague might ask that this passage answers.\nQuestion:"
        )
        inputs = tokenizer(prompt, return_tensors="pt").to(model.device)
        with torch.inference_mode():
            output = model.generate(
                **inputs,
                max_new_tokens=_MAX_NEW_TOKENS,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
            )
        text = tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
        question = text.strip().split("\n")[0].strip().lstrip("-*# ").strip()
        if 8 <= len(question) <= 200 and _QUESTION.match(question):
            written.append((row, question))
        if progress is not None:
            progress(done, len(rows))
    if not written:
        return [], 0
    ranked = top_rows(encode([q for _, q in written]), corpus, depth=20)
    kept = []
    for (row, question), best in zip(written, ranked):
        pages: list[str] = []
        for candidate in best:
            page = corpus.page(int(candidate))
            if page not in pages:
                pages.append(page)
        if corpus.page(row) in pages[:_KEEP_RANK]:
            kept.append(Pair(question, (row,), "doc2query", corpus.doc(row), answer=""))
    log.info("doc2query: %d questions written, %d kept (their passage retrieves them)", len(written), len(kept))
    return kept, len(written)
