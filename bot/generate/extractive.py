"""Extractive answers: quote the retrieved sentences closest to the question, with [n] citations.

Nothing is invented: every sentence of the answer is copied from a cited source.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from bot.embedder import Embedder
from bot.retriever import RetrievedSource

__all__ = ["ExtractiveGenerator", "split_sentences"]

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[`*])")
_LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_MIN_CHARS = 12
_RELATIVE_CUTOFF = 0.80  # keep sentences scoring within 80% of the best one
_LEXICAL_WEIGHT = 0.15  # exact words of the question (names, error codes, weekdays) count too
_WORD = re.compile(r"[a-z0-9][a-z0-9_.#/-]*[a-z0-9]|[a-z0-9]")
_STOPWORDS = frozenset(
    "a an and are as at be by can could do does for from get got have how i if in is it its me my of on or "
    "our should so that the their there this to us was we what when where which who why will with would "
    "you your".split()
)


@dataclass(frozen=True)
class _Candidate:
    n: int
    order: tuple[int, int, int]  # source rank, passage in document order, position
    text: str


def split_sentences(text: str) -> list[str]:
    """Sentences of paragraphs and list items; hard-wrapped lines are joined first."""
    sentences = []
    for unit in _units(text):
        sentences.extend(part.strip() for part in _SENTENCE.split(unit) if len(part.strip()) >= _MIN_CHARS)
    return sentences


def _units(text: str) -> list[str]:
    """Paragraphs and list items / table rows, each as one line of text."""
    units: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            units.append(" ".join(current))
            current.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("```", "~~~")) or set(line) <= set("-=|:+ "):
            flush()
            continue
        if _LIST_MARK.match(line) or line.startswith("|"):
            flush()
            line = _LIST_MARK.sub("", line).strip("|").strip()
        current.append(line)
    flush()
    return units


class ExtractiveGenerator:
    name = "extractive"
    streams = False  # quoting takes milliseconds: nothing to show before the whole answer

    def __init__(self, embedder: Embedder, max_sentences: int = 3) -> None:
        self.embedder = embedder
        self.max_sentences = max_sentences

    def generate(self, question: str, sources: list[RetrievedSource]) -> str:
        candidates = [
            _Candidate(source.n, (source.n, p_rank, position), sentence)
            for source in sources
            for p_rank, passage in enumerate(source.reading)
            for position, sentence in enumerate(split_sentences(passage.text))
        ]
        if not candidates:
            return ""
        vectors = self.embedder.embed([question] + [c.text for c in candidates])
        similarity = vectors[1:] @ vectors[0]
        # A small prior for higher-ranked sources: the retriever saw the whole chunk in context.
        rank_prior = np.array([0.02 * (len(sources) - c.n) for c in candidates])
        terms = _terms(question)
        overlap = np.array([len(terms & _terms(c.text)) / len(terms) if terms else 0.0 for c in candidates])
        scores = similarity + rank_prior + _LEXICAL_WEIGHT * overlap
        best = float(scores.max())
        picked: list[_Candidate] = []
        seen_text: set[str] = set()
        for index in np.argsort(-scores):
            candidate = candidates[int(index)]
            if scores[index] < best * _RELATIVE_CUTOFF or len(picked) >= self.max_sentences:
                break
            if candidate.text.lower() in seen_text:
                continue
            seen_text.add(candidate.text.lower())
            picked.append(candidate)
        picked.sort(key=lambda c: c.order)
        return _render(picked)

    def stream(self, question: str, sources: list[RetrievedSource]) -> Iterator[str]:
        yield self.generate(question, sources)

    def finish(self, text: str, sources: list[RetrievedSource]) -> str:
        return text


def _terms(text: str) -> set[str]:
    return {word for word in _WORD.findall(text.lower()) if word not in _STOPWORDS}


def _render(picked: list[_Candidate]) -> str:
    """Consecutive sentences from one source share one [n] marker at their end."""
    parts: list[str] = []
    for i, candidate in enumerate(picked):
        text = candidate.text if candidate.text[-1] in ".!?:" else candidate.text + "."
        last_of_run = i + 1 == len(picked) or picked[i + 1].n != candidate.n
        parts.append(f"{text} [{candidate.n}]" if last_of_run else text)
    return " ".join(parts)
