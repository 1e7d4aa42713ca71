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

__all__ = ["Signals", "Decision", "AnswerabilityModel", "signals_for", "load_model", "MODEL_PATH"]

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
class AnswerabilityModel:
    """A fitted logistic regression on standardised signals."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float = 0.5

    def probability(self, signals: Signals) -> float:
        values = [getattr(signals, name) for name in self.features]
        z = self.intercept + sum(c * (v - m) / s for c, v, m, s in zip(self.coef, values, self.mean, self.scale))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def decide(self, signals: Signals) -> Decision:
        p = self.probability(signals)
        return Decision(answer=p >= self.threshold, probability=p, signals=signals)

    def to_json(self) -> dict[str, object]:
        return {
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "threshold": self.threshold,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AnswerabilityModel:
        """The model from ``to_json``'s shape (parsed JSON: the values are whatever the file holds)."""
        return cls(
            features=tuple(data["features"]),
            mean=tuple(data["mean"]),
            scale=tuple(data["scale"]),
            coef=tuple(data["coef"]),
            intercept=float(data["intercept"]),
            threshold=float(data.get("threshold", 0.5)),
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
