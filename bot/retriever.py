"""Retrieve: embed the question, take the best chunks (dense cosine, fused with keyword matches
on hybrid collections), group them by document, and add the chunks around each hit that
continue its section (a hit often starts or ends mid-explanation)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from bot.embedder import Embedder
from bot.models import Passage, point_id
from bot.sparse import identifiers
from bot.store import Store

__all__ = ["Retriever", "RetrievedSource"]

_CHUNKS_PER_SOURCE = 2


@dataclass(frozen=True)
class RetrievedSource:
    """One document, numbered as the answer cites it, with its best chunks (``passages``, best
    first) and their same-section neighbours (``context``, score 0)."""

    n: int
    passages: list[Passage]
    context: list[Passage] = field(default_factory=list)

    @property
    def best(self) -> Passage:
        return self.passages[0]

    @property
    def score(self) -> float:
        return self.best.score

    @property
    def full_text(self) -> str:
        """Title, section and the text it reads: what "does this source say X?" is checked against."""
        return " ".join([self.best.title, self.best.section, *(p.text for p in self.reading)])

    @property
    def reading(self) -> list[Passage]:
        """Hits and their neighbours in document order: the text a generator reads."""
        return sorted(self.passages + self.context, key=lambda p: p.chunk_index)


Fusion = Literal["weighted", "rrf", "identifiers", "dense", "keywords"]


class Retriever:
    """``fusion`` says how the keyword half of a hybrid collection takes part in ranking:
    ``weighted`` (reciprocal rank with the dense half, the keyword half counting ``keyword_weight``
    as much), ``rrf`` (the same with equal weights, fused inside Qdrant in one call),
    ``identifiers`` (keywords only for questions that name identifiers such as ``ERR_CONN_RESET``),
    ``dense`` never, ``keywords`` alone (for measurement)."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        hybrid: bool = True,
        neighbours: int = 1,
        fusion: Fusion = "weighted",
        keyword_weight: float = 0.25,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.hybrid = hybrid
        self.neighbours = neighbours
        self.fusion: Fusion = fusion if hybrid else "dense"
        self.keyword_weight = keyword_weight

    def retrieve(
        self,
        question: str,
        k: int,
        source: str | None = None,
        sets: Collection[str] | None = None,
        vector: np.ndarray | None = None,
    ) -> list[RetrievedSource]:
        """Up to ``k`` distinct documents in rank order, numbered from 1; only from ``sets`` if given.
        ``vector``: the question's vector, if the caller has it already."""
        if vector is None:
            vector = self.embedder.embed_query(question)
        if self.fusion == "weighted" and self.store.hybrid:
            hits = self._weighted(vector, question, k * 4, source, sets)
        else:
            hits = self.store.search(
                vector,
                k * 4,
                source=source,
                sets=sets,
                text=question if self._uses_keywords(question) else None,
                keywords_only=self.fusion == "keywords",
            )
        by_doc: dict[str, list[Passage]] = {}
        for hit in hits:  # hits come best first
            passages = by_doc.setdefault(hit.doc_id, [])
            if len(passages) < _CHUNKS_PER_SOURCE:
                passages.append(hit)
        ranked = list(by_doc.values())[:k]
        context = self._neighbours(ranked)
        return [
            RetrievedSource(n=i + 1, passages=passages, context=context.get(passages[0].doc_id, []))
            for i, passages in enumerate(ranked)
        ]

    def _weighted(
        self, vector: np.ndarray, question: str, limit: int, source: str | None, sets: Collection[str] | None
    ) -> list[Passage]:
        """Dense and keyword candidates fused by weighted reciprocal rank; ties go to the higher cosine.

        The keyword half finds exact names the dense model blurs, but on prose questions its
        ranking is noisier than the dense one (docs/benchmarks.md): it gets a smaller vote. The
        store fuses, so that it reads back only the passages that survive the fusion."""
        return self.store.weighted_search(vector, question, limit, self.keyword_weight, source=source, sets=sets)

    def _uses_keywords(self, question: str) -> bool:
        if self.fusion == "identifiers":
            return bool(identifiers(question))
        return self.fusion in ("rrf", "keywords")

    def _neighbours(self, ranked: list[list[Passage]]) -> dict[str, list[Passage]]:
        """Chunks within ``neighbours`` positions of a hit, in the same section, fetched in one call.

        A document's chunks all carry its document sets, so a hit that passed the sets filter
        vouches for its neighbours."""
        if self.neighbours <= 0 or not ranked:
            return {}
        sections: dict[str, set[str]] = {}  # point id of a neighbour -> the sections of hits next to it
        for passages in ranked:
            taken = {p.chunk_index for p in passages}
            for hit in passages:
                for offset in range(-self.neighbours, self.neighbours + 1):
                    index = hit.chunk_index + offset
                    if index >= 0 and index not in taken:
                        sections.setdefault(point_id(hit.doc_id, index), set()).add(hit.section)
        found: dict[str, list[Passage]] = {}
        for passage in self.store.fetch(list(sections)):
            if passage.section in sections[point_id(passage.doc_id, passage.chunk_index)]:
                found.setdefault(passage.doc_id, []).append(passage)
        return found
