"""Retrieve: embed the question, take the best chunks (dense cosine, fused with keyword matches
on hybrid collections), group them by document."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bot.embedder import Embedder
from bot.models import Passage
from bot.store import Store

__all__ = ["Retriever", "RetrievedSource"]

_CHUNKS_PER_SOURCE = 2


@dataclass(frozen=True)
class RetrievedSource:
    """One document, numbered as the answer cites it, with its best chunks."""

    n: int
    passages: list[Passage]

    @property
    def best(self) -> Passage:
        return self.passages[0]

    @property
    def score(self) -> float:
        return self.best.score


class Retriever:
    def __init__(self, store: Store, embedder: Embedder, hybrid: bool = True) -> None:
        self.store = store
        self.embedder = embedder
        self.hybrid = hybrid

    def retrieve(
        self, question: str, k: int, source: str | None = None, sets: Collection[str] | None = None
    ) -> list[RetrievedSource]:
        """Up to ``k`` distinct documents in rank order, numbered from 1; only from ``sets`` if given."""
        vector = self.embedder.embed_query(question)
        text = question if self.hybrid else None  # the keyword half of a hybrid search
        hits = self.store.search(vector, k * 4, source=source, sets=sets, text=text)
        by_doc: dict[str, list[Passage]] = {}
        for hit in hits:  # hits come best first
            passages = by_doc.setdefault(hit.doc_id, [])
            if len(passages) < _CHUNKS_PER_SOURCE:
                passages.append(hit)
        ranked = list(by_doc.values())[:k]
        return [RetrievedSource(n=i + 1, passages=passages) for i, passages in enumerate(ranked)]
