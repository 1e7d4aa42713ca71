"""The generator interface: a = SeqGen(q, d1..dk), with citations that must point at a source."""

from __future__ import annotations

import re
from typing import Protocol

from bot.retriever import RetrievedSource

__all__ = ["Generator", "keep_valid_citations", "clean_citations", "build_prompt", "closest_source", "CITATION"]

CITATION = re.compile(r"\[(\d{1,3})\]")
_PASSAGE_CHARS = 900


class Generator(Protocol):
    name: str

    def generate(self, question: str, sources: list[RetrievedSource]) -> str:
        """Answer from the numbered sources only, citing them as [n]."""


def keep_valid_citations(text: str, valid: set[int]) -> str:
    """Drop [n] markers that point at no retrieved source."""
    cleaned = CITATION.sub(lambda m: m.group(0) if int(m.group(1)) in valid else "", text)
    return re.sub(r"[ \t]{2,}", " ", cleaned).strip()


def clean_citations(text: str, sources: list[RetrievedSource]) -> str:
    """Keep only citations of retrieved sources; an uncited answer cites the source it draws on most."""
    text = keep_valid_citations(text, {s.n for s in sources})
    if text and not CITATION.search(text):
        text = f"{text} [{closest_source(text, sources)}]"
    return text


def build_prompt(question: str, sources: list[RetrievedSource]) -> str:
    blocks = []
    for source in sources:
        text = " ".join(p.text for p in source.passages)
        text = re.sub(r"\s+", " ", text)[:_PASSAGE_CHARS]
        blocks.append(f"[{source.n}] {source.best.title}: {text}")
    passages = "\n".join(blocks)
    return (
        "Answer the question using only the numbered passages. "
        "Cite the passage you used like [1]. "
        "If the passages do not contain the answer, say you don't know.\n\n"
        f"Passages:\n{passages}\n\n"
        f"Question: {question}\n"
        "Answer:"
    )


def closest_source(answer: str, sources: list[RetrievedSource]) -> int:
    """The source sharing most words with the answer: the one it was most likely drawn from."""
    words = set(re.findall(r"\w{3,}", answer.lower()))

    def overlap(source: RetrievedSource) -> int:
        text = " ".join(p.text for p in source.passages).lower()
        return len(words & set(re.findall(r"\w{3,}", text)))

    return max(sources, key=overlap).n
