"""The engine-neutral language of a search: filters, candidate lists, hits, and fusion.

The core (:class:`bot.store.engine.StoreEngine`) speaks it, each engine translates it into its
own client's types; what a filter or a fused ranking means is decided here, once.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.models import Passage
from bot.sparse import SparseVector

__all__ = [
    "SPARSE_VECTOR",
    "RRF_K",
    "HYBRID_CANDIDATES",
    "Condition",
    "Where",
    "Leg",
    "Query",
    "Hit",
    "fused_order",
    "weighted_fusion",
    "contenders",
    "cosine",
    "source_where",
    "live_where",
]

SPARSE_VECTOR = "bm25"  # name of the keyword vector in hybrid collections
RRF_K = 60  # the usual reciprocal-rank-fusion constant
HYBRID_CANDIDATES = 4  # each half of a hybrid search proposes this many times k

_NO_SET = "\x00none"  # matches nothing: an empty allow-list must not mean "everything"

# A condition: a payload key and the value it must have, a tuple of values it may have, or None:
# the key is absent (or empty).
Condition = tuple[str, str | bool | tuple[str, ...] | None]


@dataclass(frozen=True)
class Where:
    """An engine-neutral filter: every ``must`` condition holds and no ``must_not`` one does."""

    must: tuple[Condition, ...] = ()
    must_not: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Leg:
    """One ranked candidate list: the points nearest a dense vector, or a keyword (sparse) one."""

    limit: int
    where: Where
    vector: list[float] | SparseVector  # a dense list, or keyword (indices, values)


@dataclass(frozen=True)
class Query:
    """One leg ranks alone; several are fused by reciprocal rank (constant ``rrf_k``)."""

    legs: tuple[Leg, ...]
    limit: int
    with_dense: bool = False  # return each hit's stored dense vector, to score it by cosine
    rrf_k: int = RRF_K
    with_payload: bool = True  # False: ids and scores only, when most hits will be thrown away


@dataclass(frozen=True)
class Hit:
    """A point a query or a retrieve found."""

    score: float  # 0 for retrieved points
    payload: dict[str, Any]
    dense: Any = None  # the stored dense vector, when asked for
    id: str = ""


def fused_order(scored: list[tuple[float, Passage]]) -> list[Passage]:
    """Passages ranked by fused (RRF) score, ties broken by cosine: equal RRF scores are common
    (dense rank 1 + keyword rank 3 equals dense 3 + keyword 1), and the engine orders ties arbitrarily."""
    ranked = sorted(scored, key=lambda pair: (-round(pair[0], 9), -pair[1].score))
    return [passage for _, passage in ranked]


def weighted_fusion(ranked: Sequence[tuple[float, Sequence[str]]]) -> dict[str, float]:
    """Each point id's weighted reciprocal-rank score over ``(weight, ids best first)`` lists, in
    the order the ids were first seen (the order ties keep before the cosine breaks them)."""
    fused: dict[str, float] = {}
    for weight, ids in ranked:
        for rank, pid in enumerate(ids, start=1):
            fused[pid] = fused.get(pid, 0.0) + weight / (RRF_K + rank)
    return fused


def contenders(fused: dict[str, float], limit: int) -> list[str]:
    """The ids that can still make the best ``limit``: all scoring at least the ``limit``-th score.

    Ties are broken by cosine, which a keyword-only candidate has only once its vector is read;
    reading the tied ones too keeps the cut exactly where ranking everything would put it."""
    if len(fused) <= limit:
        return list(fused)
    floor = sorted(fused.values(), reverse=True)[limit - 1]
    return [pid for pid, score in fused.items() if score >= floor]


def cosine(query: np.ndarray, stored: Any) -> float:
    """Cosine of a unit query and a stored vector (Qdrant keeps cosine vectors normalised)."""
    return float(np.dot(query, np.asarray(stored, dtype=np.float32)))


def source_where(source: str | None) -> Where:
    return Where(must=(("source", source),) if source else ())


def live_where(source: str | None, sets: Collection[str] | None) -> Where:
    """Searches skip tombstones of an interrupted update, and chunks outside the allowed sets.

    Live chunks are those *without* ``stale``, asked positively: Qdrant answers "stale is empty"
    from the payload index, while with ``must_not stale`` an exact filtered search at 100k chunks
    took 13-40x longer (docs/benchmarks.md, "Store tail latency")."""
    must = source_where(source).must
    if sets is not None:
        must += (("sets", tuple(sorted(sets)) or (_NO_SET,)),)
    return Where(must=(*must, ("stale", None)))
