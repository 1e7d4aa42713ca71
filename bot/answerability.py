"""Answer or say "not in the docs": one decision over several retrieval signals.

A single cosine threshold does not carry from one corpus to another: a docs set full of
near-identical API pages scores every question high, a small handbook scores paraphrases low.
The signals below each see a different failure. A question about pandas asked of the Python
docs gets a high cosine but a small margin and poor coverage of its words; a misspelt question
about the right page gets a lower cosine but full coverage and a clear best unit.

The weights are a logistic regression fitted by ``bench/fit_answerability.py`` on the shipped
eval and tuning sets (figures, cross-validated and cross-set, in docs/benchmarks.md) and
shipped as ``answerability.json``; inference is a dot product, no fitting library at run time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.generate.extractive import ScoredUnit
from bot.retriever import RetrievedSource
from bot.sparse import identifiers
from bot.terms import content_terms, coverage

__all__ = ["Signals", "Decision", "Anchors", "AnswerabilityModel", "signals_for", "load_model", "MODEL_PATH"]

MODEL_PATH = Path(__file__).with_name("answerability.json")


@dataclass(frozen=True)
class Signals:
    """What the decision reads; each in [0, 1] or a cosine."""

    top_score: float  # best dense cosine among the retrieved documents
    margin: float  # its lead over the second document's cosine
    coverage: float  # share of the question's content words found in the best document
    unit_score: float  # the best answer unit's score (cosine in context, words, specifics)
    unit_coverage: float  # share of the question's content words in the best unit and its heading
    identifiers: float  # 1: the question names identifiers and the best document has them all verbatim
    unknown: float  # share of the question's content words found in no retrieved document nor the corpus

    FEATURES = ("top_score", "margin", "coverage", "unit_score", "unit_coverage", "identifiers", "unknown")

    def vector(self) -> list[float]:
        return [getattr(self, name) for name in self.FEATURES]

    def as_dict(self) -> dict[str, float]:
        return {name: round(value, 4) for name, value in asdict(self).items()}


@dataclass(frozen=True)
class Decision:
    answer: bool
    probability: float
    signals: Signals


@dataclass(frozen=True)
class Anchors:
    """Where one index puts its signals: their mean over questions its own pages answer (headings
    and first sentences asked as questions) and over off-topic questions (``bot/calibration.py``).

    A cosine of 0.45 is a good match in a 16-page handbook and a poor one in 500 pages of Python
    docs; a word missing from the handbook is ordinary, one missing from the Python docs is telling.
    Read against its own index's anchors, a signal means the same on both: 0 is "like an off-topic
    question here", 1 is "like a question this index answers"."""

    answerable: dict[str, float]
    off_topic: dict[str, float]
    chunks: int = 0  # the index's size when they were measured (re-measured when it changes much)
    key: str = ""  # the query encoder, precision and retrieval settings they were measured under

    def place(self, name: str, value: float) -> float:
        """``value`` between this index's anchors: 0 at the off-topic mean, 1 at the answerable one."""
        low, high = self.off_topic[name], self.answerable[name]
        if abs(high - low) < 1e-6:
            return value  # the signal does not tell the two apart here: nothing to place it between
        return (value - low) / (high - low)

    def to_json(self) -> dict[str, Any]:
        return {"answerable": self.answerable, "off_topic": self.off_topic, "chunks": self.chunks, "key": self.key}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Anchors:
        """Raises KeyError for a record without every signal (another version's: measured again)."""
        anchors = cls(
            answerable={k: float(v) for k, v in data["answerable"].items()},
            off_topic={k: float(v) for k, v in data["off_topic"].items()},
            chunks=int(data.get("chunks", 0)),
            key=str(data.get("key", "")),
        )
        for name in Signals.FEATURES:
            anchors.answerable[name], anchors.off_topic[name]  # noqa: B018
        return anchors


@dataclass(frozen=True)
class AnswerabilityModel:
    """A fitted logistic regression on standardised signals; the ``anchored`` ones are first read
    against the index's own :class:`Anchors` (``default_anchors`` where the index has none yet)."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float = 0.5
    anchored: tuple[str, ...] = ()
    default_anchors: Anchors | None = None

    def inputs(self, signals: Signals, anchors: Anchors | None = None) -> list[float]:
        """The feature values the regression reads, anchored ones placed on this index's scale."""
        anchors = anchors or self.default_anchors
        values = []
        for name in self.features:
            value = getattr(signals, name)
            values.append(anchors.place(name, value) if anchors and name in self.anchored else value)
        return values

    def probability(self, signals: Signals, anchors: Anchors | None = None) -> float:
        values = self.inputs(signals, anchors)
        z = self.intercept + sum(c * (v - m) / s for c, v, m, s in zip(self.coef, values, self.mean, self.scale))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def decide(self, signals: Signals, anchors: Anchors | None = None) -> Decision:
        p = self.probability(signals, anchors)
        return Decision(answer=p >= self.threshold, probability=p, signals=signals)

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "threshold": self.threshold,
        }
        if self.anchored:
            data["anchored"] = list(self.anchored)
        if self.default_anchors is not None:
            data["default_anchors"] = self.default_anchors.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AnswerabilityModel:
        """The model from ``to_json``'s shape (parsed JSON: the values are whatever the file holds)."""
        defaults = data.get("default_anchors")
        return cls(
            features=tuple(data["features"]),
            mean=tuple(data["mean"]),
            scale=tuple(data["scale"]),
            coef=tuple(data["coef"]),
            intercept=float(data["intercept"]),
            threshold=float(data.get("threshold", 0.5)),
            anchored=tuple(data.get("anchored", ())),
            default_anchors=Anchors.from_json(defaults) if defaults else None,
        )


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_PATH) -> AnswerabilityModel:
    return AnswerabilityModel.from_json(json.loads(path.read_text(encoding="utf-8")))


def signals_for(
    question: str,
    sources: Sequence[RetrievedSource],
    ranked: Sequence[ScoredUnit],
    in_corpus: Callable[[str], bool] | None = None,
) -> Signals:
    """The decision's inputs for one retrieval. ``in_corpus`` says whether a word occurs anywhere
    in the index (a keyword search); without it, words missing from the retrieved documents count
    as unknown. A question about "pandas" asked of the Python docs names a word the docs never use."""
    if not sources:
        return Signals(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    by_score = sorted(sources, key=lambda s: -s.score)
    best = by_score[0]
    second = by_score[1].score if len(by_score) > 1 else 0.0
    terms = content_terms(question)
    best_text = best.full_text
    unit_text = ""
    if ranked:
        top = ranked[0]
        unit_text = (
            top.unit.text + " " + next((s.best.section + " " + s.best.title for s in sources if s.n == top.n), "")
        )
    names = identifiers(question)
    found = bool(names) and any(all(name.lower() in _reading(s).lower() for name in names) for s in sources[:3])
    return Signals(
        top_score=best.score,
        margin=best.score - second,
        coverage=coverage(terms, best_text),
        unit_score=ranked[0].score if ranked else 0.0,
        unit_coverage=coverage(terms, unit_text),
        identifiers=1.0 if found else 0.0,
        unknown=_unknown(terms, " ".join(s.full_text for s in sources), in_corpus),
    )


def _unknown(terms: set[str], retrieved: str, in_corpus: Callable[[str], bool] | None) -> float:
    if not terms:
        return 0.0
    missing = [t for t in terms if coverage({t}, retrieved) == 0.0]
    unknown = [t for t in missing if in_corpus is None or not in_corpus(t)]
    return len(unknown) / len(terms)


def _reading(source: RetrievedSource) -> str:
    return " ".join(p.text for p in source.reading)
