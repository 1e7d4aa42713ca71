"""Coverage gaps: the questions the docs failed on, grouped by meaning and ranked by who asked.

A question counts when it was refused ("not in the docs"), got a 👎, or was escalated to a
person. Their standalone rewrites are embedded with the project's document encoder and grouped
by scikit-learn's agglomerative clustering (average linkage on cosine distance, cut at
``[insights] cluster_distance``): no number of clusters to guess, and a phrasing that matches
nothing stays a gap of its own. Each gap then gets a representative question (the medoid), up to
three other phrasings, its count and distinct askers, the closest pages the index has (so a
writer sees "the page exists but doesn't answer this" against "there is no page"), and a title.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bot.chatstate.questions import QuestionRecord
from bot.insights.titles import suggest_title

__all__ = [
    "ClosestPage",
    "Gap",
    "GapReport",
    "cluster_labels",
    "find_gaps",
    "is_gap",
    "Embed",
    "Search",
]

Embed = Callable[[list[str]], np.ndarray]  # texts -> L2-normalised rows
EXAMPLES = 3


@dataclass(frozen=True)
class ClosestPage:
    title: str
    url: str
    score: float  # the retriever's cosine: how near the index came to answering

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "url": self.url, "score": round(self.score, 4)}


Search = Callable[[str], list[ClosestPage]]  # question -> the index's closest pages


@dataclass
class Gap:
    representative: str
    examples: list[str]  # other phrasings, nearest to the representative first
    count: int  # questions
    askers: int  # distinct people
    suggested_title: str
    reasons: dict[str, int]  # {"refused": n, "down": n, "escalated": n}
    last_asked: float
    sets: list[str]  # every document set its conversations could search
    restricted: bool  # asked where more than [access] default could be read
    closest: list[ClosestPage] = field(default_factory=list)
    questions: list[QuestionRecord] = field(default_factory=list, repr=False)

    def to_json(self) -> dict[str, Any]:
        """One gap as ``ragbot gaps --json`` and ``/admin/gaps.json`` print it."""
        return {
            "representative": self.representative,
            "examples": self.examples,
            "count": self.count,
            "askers": self.askers,
            "suggested_title": self.suggested_title,
            "closest": [page.to_json() for page in self.closest],
            "reasons": dict(self.reasons),
            "last_asked": _iso(self.last_asked),
            "sets": self.sets,
            "restricted": self.restricted,
        }


@dataclass
class GapReport:
    since: float | None
    questions: int  # questions in the window this view may see
    failed: int  # of those, refused, 👎'd or escalated
    gaps: list[Gap]
    warnings: list[str] = field(default_factory=list)  # e.g. the index could not be searched for closest pages

    def to_json(self) -> dict[str, Any]:
        """The shape of ``ragbot gaps --json``."""
        return {
            "since": _iso(self.since) if self.since is not None else None,
            "questions": self.questions,
            "failed": self.failed,
            "gaps": [gap.to_json() for gap in self.gaps],
            "warnings": list(self.warnings),
        }


def is_gap(record: QuestionRecord) -> bool:
    return record.outcome == "refused" or record.votes_down > 0 or record.escalated


def cluster_labels(vectors: np.ndarray, distance: float) -> np.ndarray:
    """One label per row: rows whose average cosine distance stays under ``distance`` share one."""
    if len(vectors) < 2:
        return np.zeros(len(vectors), dtype=int)
    from sklearn.cluster import AgglomerativeClustering  # imported here: only gap reports pay for it

    model = AgglomerativeClustering(n_clusters=None, distance_threshold=distance, metric="cosine", linkage="average")
    return model.fit_predict(vectors)


def find_gaps(
    records: Sequence[QuestionRecord],
    embed: Embed,
    *,
    distance: float,
    search: Search | None = None,
    view_sets: frozenset[str] | None = None,
    since: float | None = None,
) -> GapReport:
    """The gaps among ``records`` that a view limited to ``view_sets`` may see (None: an admin's),
    best first: most distinct askers, then most questions, then most recent."""
    visible = [r for r in records if r.visible_to(view_sets) and (since is None or r.asked_at >= since)]
    failed = [r for r in visible if is_gap(r)]
    if not failed:
        return GapReport(since, len(visible), 0, [])
    texts = sorted({_text(r) for r in failed})
    vectors = np.asarray(embed(texts), dtype=np.float32)
    row = {text: i for i, text in enumerate(texts)}
    labels = cluster_labels(vectors, distance)
    members: dict[int, list[QuestionRecord]] = {}
    for record in failed:
        members.setdefault(int(labels[row[_text(record)]]), []).append(record)
    gaps = [_describe(group, vectors, row) for group in members.values()]
    gaps.sort(key=lambda g: (-g.askers, -g.count, -g.last_asked, g.representative))
    if search is not None:
        for gap in gaps:
            gap.closest = search(gap.representative)
    return GapReport(since, len(visible), len(failed), gaps)


def _text(record: QuestionRecord) -> str:
    return " ".join((record.standalone or record.question).split())


def _describe(group: list[QuestionRecord], vectors: np.ndarray, row: dict[str, int]) -> Gap:
    texts = sorted({_text(r) for r in group})
    own = vectors[[row[t] for t in texts]]
    similarity = own @ own.T
    medoid = int(np.argmax(similarity.sum(axis=1)))  # the phrasing nearest to all the others
    nearest = np.argsort(-similarity[medoid], kind="stable")
    examples = [texts[i] for i in nearest if i != medoid][:EXAMPLES]
    asked = Counter(_text(r) for r in group)
    sets = sorted({s for r in group for s in r.sets})
    return Gap(
        representative=texts[medoid],
        examples=examples,
        count=len(group),
        askers=len({r.user or r.id for r in group}),
        suggested_title=suggest_title(texts[medoid], list(asked.elements())),
        reasons={
            "refused": sum(r.outcome == "refused" for r in group),
            "down": sum(r.votes_down > 0 for r in group),
            "escalated": sum(r.escalated for r in group),
        },
        last_asked=max(r.asked_at for r in group),
        sets=sets,
        restricted=any(r.restricted for r in group),
        questions=sorted(group, key=lambda r: r.asked_at),
    )


def _iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))
