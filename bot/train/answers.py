"""p(y|x,z): what the generator says about a reference answer y given a passage z.

* ``extractive``: y is one of the passage's answer units, and p(y|x,z) is its share of a
  softmax over the passage's units scored by q(x).u. The unit vectors come from the frozen
  document encoder (as the extractive generator scores them); q(x) is the query encoder being
  trained, so this term trains it to pick the right unit too. Here we find which unit is y and
  embed the units once.
* ``transformers``: log p_LM(y | prompt(x, z)), the model's likelihood of the answer given the
  question and that passage alone; fixed numbers while the retriever trains (REPLUG-style).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

import numpy as np

from bot.embedder import Embedder
from bot.retriever import RetrievedSource
from bot.train.corpus import Corpus
from bot.train.retriever import UnitTable
from bot.units import answer_units, flatten

__all__ = ["unit_table", "lm_answer_logp", "answer_in_units"]

log = logging.getLogger(__name__)

_MIN_UNIT_CHARS = 12  # as the extractive generator: shorter units are never quoted alone
_MIN_MATCH_CHARS = 20  # containment counts only for answers at least this long


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _unit_texts(corpus: Corpus, row: int) -> list[str]:
    """The chunk's quotable units, flattened (what y is matched against)."""
    text = corpus.passages[row].text
    return [flatten(u.text) for u in answer_units(text) if len(u.text) >= _MIN_UNIT_CHARS or u.multiline]


def answer_in_units(answer: str, units: list[str]) -> int | None:
    """Which unit is the answer: the same text, or one holding the other (answers quote units)."""
    wanted = _norm(answer)
    if not wanted:
        return None
    normed = [_norm(u) for u in units]
    for i, unit in enumerate(normed):
        if unit == wanted:
            return i
    if len(wanted) >= _MIN_MATCH_CHARS:
        for i, unit in enumerate(normed):
            if wanted in unit or (len(unit) >= _MIN_MATCH_CHARS and unit in wanted):
                return i
    return None


def unit_table(
    answers: list[tuple[str, tuple[int, ...]]], corpus: Corpus, embedder: Embedder, limit: int
) -> tuple[UnitTable, list[dict[int, int]]]:
    """For each (answer, positives): the positives that contain the answer and which unit it is;
    and the document vectors of those chunks' units. At most ``limit`` answers get units (each
    chunk's units cost an encoder pass)."""
    found: list[dict[int, int]] = []
    rows: dict[int, list[str]] = {}
    with_units = 0
    for answer, positives in answers:
        where: dict[int, int] = {}
        if answer and with_units < limit:
            for row in positives:  # the first chunk that holds the answer: each costs its units' encoding
                units = rows.get(row) or _unit_texts(corpus, row)
                index = answer_in_units(answer, units)
                if index is not None:
                    rows[row] = units
                    where[row] = index
                    break
            with_units += bool(where)
        found.append(where)
    used = sorted({row for where in found for row in where})
    texts: list[str] = []
    spans: dict[int, tuple[int, int]] = {}
    for row in used:
        passage = corpus.passages[row]
        heading = passage.section.split(" > ")[-1] if passage.section else passage.title
        spans[row] = (len(texts), len(rows[row]))
        texts.extend(f"{heading}: {unit}" for unit in rows[row])
    vectors = embedder.embed(texts) if texts else np.zeros((0, corpus.vectors.shape[1]), dtype=np.float32)
    return UnitTable(vectors, spans), found


def lm_answer_logp(
    lm: tuple[object, object],
    items: list[tuple[str, str, tuple[int, ...]]],
    corpus: Corpus,
    deadline: float,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[int, float]]:
    """For each (question, answer, candidate rows): log p_LM(answer [1] | prompt with that one
    passage), summed over the answer's tokens; items past ``deadline`` get none."""
    import torch

    from bot.generate.base import build_prompt

    model, tokenizer = lm
    out: list[dict[int, float]] = []
    for done, (question, answer, rows) in enumerate(items, start=1):
        scores: dict[int, float] = {}
        if answer and time.monotonic() < deadline:
            for row in rows:
                source = RetrievedSource(n=1, passages=[corpus.passages[row]])
                prompt = build_prompt(question, [source])
                scores[row] = _answer_logp(model, tokenizer, prompt, f" {answer} [1]", torch)
        out.append(scores)
        if progress is not None:
            progress(done, len(items))
    return out


def _answer_logp(model, tokenizer, prompt: str, answer: str, torch) -> float:
    prompt_ids = tokenizer(prompt, return_tensors="pt").input_ids
    answer_ids = tokenizer(answer, add_special_tokens=False, return_tensors="pt").input_ids
    ids = torch.cat([prompt_ids, answer_ids], dim=1).to(model.device)
    with torch.inference_mode():
        logits = model(ids).logits[0, prompt_ids.shape[1] - 1 : -1]
    logp = torch.log_softmax(logits.float(), dim=-1).gather(1, answer_ids[0].to(model.device)[:, None])
    return float(logp.sum())
