"""The generator interface: a = SeqGen(q, d1..dk), with citations that must point at a source."""

from __future__ import annotations

import re
from typing import Protocol

from bot.retriever import RetrievedSource

__all__ = ["Generator", "keep_valid_citations", "CITATION"]

CITATION = re.compile(r"\[(\d{1,3})\]")


class Generator(Protocol):
    name: str

    def generate(self, question: str, sources: list[RetrievedSource]) -> str:
        """Answer from the numbered sources only, citing them as [n]."""


def keep_valid_citations(text: str, valid: set[int]) -> str:
    """Drop [n] markers that point at no retrieved source."""
    cleaned = CITATION.sub(lambda m: m.group(0) if int(m.group(1)) in valid else "", text)
    return re.sub(r"[ \t]{2,}", " ", cleaned).strip()
