"""The generator interface: a = SeqGen(q, d1..dk), with citations that must point at a source."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Protocol

from bot import metrics
from bot.retriever import RetrievedSource
from bot.units import answer_units

__all__ = [
    "Generator",
    "keep_valid_citations",
    "clean_citations",
    "build_prompt",
    "passage_units",
    "closest_source",
    "declines",
    "StreamingGenerator",
    "CITATION",
]

CITATION = re.compile(r"\[(\d{1,3})\]")
_PASSAGE_CHARS = 900


# The model says the passages don't answer: the core turns that into its "not in the docs" reply.
_DECLINE = re.compile(
    r"\b(?:i (?:do not|don't|cannot|can't|could not|couldn't) (?:know|find|answer|tell|say)"
    r"|(?:not|isn't|is not) (?:mentioned|covered|stated|specified) in the (?:passages|docs|documentation|context)"
    r"|(?:passages|docs|documentation|context) (?:do not|don't|does not|doesn't) (?:say|contain|mention|cover|answer))",
    re.I,
)
_FIRST_SENTENCE = re.compile(r"^.*?(?:[.!?](?:\s|$)|$)", re.S)


class Generator(Protocol):
    name: str
    streams: bool  # stream() yields text as it is produced; False: it yields the whole answer at once

    def generate(self, question: str, sources: list[RetrievedSource]) -> str:
        """Answer from the numbered sources only, citing them as [n]."""

    def stream(self, question: str, sources: list[RetrievedSource]) -> Iterator[str]:
        """The raw answer in pieces as they are produced; ``finish`` cleans the joined text."""

    def finish(self, text: str, sources: list[RetrievedSource]) -> str:
        """The answer users get from the joined stream (citations checked)."""


class StreamingGenerator:
    """Shared shape of the model-backed generators: the answer is the cleaned, joined stream."""

    streams = True

    def stream(self, question: str, sources: list[RetrievedSource]) -> Iterator[str]:
        raise NotImplementedError

    def generate(self, question: str, sources: list[RetrievedSource]) -> str:
        return self.finish("".join(self.stream(question, sources)), sources)

    def finish(self, text: str, sources: list[RetrievedSource]) -> str:
        return clean_citations(text.strip(), sources)


def declines(text: str) -> bool:
    """The answer opens by saying the passages don't answer the question (and not "..., but [1] says")."""
    first = _FIRST_SENTENCE.match(text.strip())
    sentence = first.group(0) if first else ""
    return bool(_DECLINE.search(sentence)) and not re.search(r"\bbut\b", sentence, re.I)


def keep_valid_citations(text: str, valid: set[int]) -> str:
    """Drop [n] markers that point at no retrieved source."""
    cleaned = CITATION.sub(lambda m: m.group(0) if int(m.group(1)) in valid else "", text)
    return re.sub(r"[ \t]{2,}", " ", cleaned).strip()


def clean_citations(text: str, sources: list[RetrievedSource]) -> str:
    """Keep only citations of retrieved sources; an uncited answer cites the source it draws on most."""
    valid = {s.n for s in sources}
    dropped = sum(1 for m in CITATION.finditer(text) if int(m.group(1)) not in valid)
    if dropped:
        metrics.INVALID_CITATIONS.inc(dropped)
    text = keep_valid_citations(text, valid)
    if text and not CITATION.search(text):
        text = f"{text} [{closest_source(text, sources)}]"
    return text


def build_prompt(question: str, sources: list[RetrievedSource]) -> str:
    blocks = [f"[{source.n}] {source.best.title}:\n{passage_units(source)}" for source in sources]
    passages = "\n\n".join(blocks)
    return (
        "Answer the question using only the numbered passages. "
        "Cite the passage you used like [1]. "
        "If the passages do not contain the answer, say you don't know.\n\n"
        f"Passages:\n{passages}\n\n"
        f"Question: {question}\n"
        "Answer:"
    )


def passage_units(source: RetrievedSource, budget: int = _PASSAGE_CHARS) -> str:
    """Whole answer units of a source (a lead-in with its list or code, a table row with its column
    names), hits first, then neighbours, while they fit ``budget``; shown in document order.

    A model given a sentence cut at a character limit answers from the half it got."""
    chosen: list[tuple[int, int, str]] = []  # (chunk index, unit position, text)
    used = 0
    for passage in source.passages + source.context:
        for unit in answer_units(passage.text):
            if chosen and used + len(unit.text) > budget:
                continue
            chosen.append((passage.chunk_index, unit.position, unit.text))
            used += len(unit.text) + 1
    return "\n".join(text for _, _, text in sorted(chosen))


def closest_source(answer: str, sources: list[RetrievedSource]) -> int:
    """The source sharing most words with the answer: the one it was most likely drawn from."""
    words = set(re.findall(r"\w{3,}", answer.lower()))

    def overlap(source: RetrievedSource) -> int:
        text = " ".join(p.text for p in source.reading).lower()
        return len(words & set(re.findall(r"\w{3,}", text)))

    return max(sources, key=overlap).n
