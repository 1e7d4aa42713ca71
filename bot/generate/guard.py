"""Check a model's answer before it is posted.

Small or badly templated models fail in recognisable ways: "Answer:\\nAnswer:\\nAnswer:…" fifty
times over, a bare "[1]", a fluent sentence the passages never said, or a [2] on text that
source 2 doesn't contain. Each of those, posted as an answer with citations, misleads more
than "here is what the docs say". :func:`degenerate` names the problem; the core then answers
with quoted units instead and counts it (``ragbot_degenerate_answers_total``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from bot.generate.base import CITATION
from bot.retriever import RetrievedSource
from bot.terms import content_terms, coverage

__all__ = ["degenerate", "Problem"]

Problem = str  # "repetition" | "boilerplate" | "unsupported" | "bad_citation"

_BOILERPLATE = re.compile(
    r"\b(answer|question|passages?|sources?|context|assistant|user|response|note|based on|the following)\b", re.I
)
_MIN_CONTENT_WORDS = 3
_SUPPORTED = 0.5  # share of an answer's content words found in the passages it cites
_CLAIM_SUPPORTED = 0.34  # per cited sentence, share of its content words in that source
_REPEAT_SHARE = 0.5  # a line or 6-word shingle repeated this much of the text is a loop


def degenerate(text: str, sources: Sequence[RetrievedSource]) -> Problem | None:
    """What is wrong with a model answer, or None if it may be posted."""
    if _loops(text):
        return "repetition"
    words = content_terms(_BOILERPLATE.sub(" ", CITATION.sub(" ", text)))
    if len(words) < _MIN_CONTENT_WORDS:
        return "boilerplate"
    by_number = {s.n: s.full_text for s in sources}
    cited = [int(n) for n in CITATION.findall(text) if int(n) in by_number]
    passages = " ".join(by_number[n] for n in dict.fromkeys(cited)) if cited else " ".join(by_number.values())
    if coverage(words, passages) < _SUPPORTED:
        return "unsupported"
    for sentence, numbers in _cited_sentences(text):
        claim = content_terms(CITATION.sub(" ", sentence))
        if len(claim) < _MIN_CONTENT_WORDS:
            continue
        if not any(coverage(claim, by_number[n]) >= _CLAIM_SUPPORTED for n in numbers if n in by_number):
            return "bad_citation"
    return None


def _loops(text: str) -> bool:
    """One line, or one 6-word run, repeated so often it makes up half the answer."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) >= 3:
        line, count = Counter(lines).most_common(1)[0]
        if count >= 3 and count * len(line) >= _REPEAT_SHARE * sum(len(x) for x in lines):
            return True
    tokens = text.split()
    if len(tokens) < 12:
        return False
    shingles = Counter(tuple(tokens[i : i + 6]) for i in range(len(tokens) - 5))
    _, count = shingles.most_common(1)[0]
    return count >= 3 and count * 6 >= _REPEAT_SHARE * len(tokens)


def _cited_sentences(text: str) -> list[tuple[str, list[int]]]:
    """Each sentence with the [n] markers at its end (or inside it)."""
    pieces = re.split(r"(?<=[.!?\]])\s+(?=[A-Z0-9\"'(`*])", text)
    out = []
    for piece in pieces:
        numbers = [int(n) for n in CITATION.findall(piece)]
        if numbers:
            out.append((piece, numbers))
    return out
