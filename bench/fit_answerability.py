"""Fit the answer-or-refuse decision (bot/answerability.py) and report it honestly.

    .venv/bin/ragbot --config samples/python-docs.toml index          # once: the Python docs index
    .venv/bin/python bench/fit_answerability.py                       # report only
    .venv/bin/python bench/fit_answerability.py --write               # and ship bot/answerability.json

Two corpora (the sample handbook, indexed here into a temp dir, and the Python 3.11 docs),
each with its eval set and its tuning set. Every figure is out-of-sample:

- in-set: stratified 5-fold cross-validation within one corpus (each question is predicted by a
  model that never saw it);
- cross-set: fitted on one corpus, tested on the other (docs it was never fitted on);
- the old rule (any source's cosine >= retrieval.min_score) on the same questions.

The shipped model is then fitted on every question of both corpora.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import REPO, indexed_handbook, machine  # noqa: E402

if TYPE_CHECKING:
    from bot.answerability import Anchors

_FOLDS = 5
_C = 1.0  # L2 strength; the features are few and standardised
_FALSE_REFUSALS = 0.03  # the threshold keeps refusals of answerable training questions under this
# the corpus-dependent signals, read against each index's own anchors: chosen on the tuning
# questions alone, where anchoring these two (not more) made either corpus's fit carry to the other
ANCHORED = ("top_score", "unknown")


@dataclass
class Corpus:
    name: str
    config: Path
    files: list[Path]
    questions: list[str] | None = None
    features: np.ndarray | None = None  # anchored as the shipped model reads them
    raw: np.ndarray | None = None  # as measured
    anchors: Anchors | None = None
    labels: np.ndarray | None = None
    old_rule: np.ndarray | None = None


def collect(corpus: Corpus) -> None:
    """Signals and labels of every question, from the real retrieval path, and the index's anchors
    (measured here, as ``ragbot index`` does)."""
    from bot.answerability import Signals
    from bot.app.settings import load_settings
    from bot.core import RagCore
    from bot.evaluation import load_cases
    from bot.sparse import identifiers

    settings = load_settings(corpus.config)
    core = RagCore(settings)
    rows, labels, old, questions = [], [], [], []
    try:
        corpus.anchors = core.anchors.calibrate(force=True)
        for path in corpus.files:
            for case in load_cases(path):
                rows.append(core.decision_signals(case.question).vector())
                questions.append(case.question)
                labels.append(int(case.answerable))
                sources = core.retriever.retrieve(case.question, settings.retrieval.k)
                names = identifiers(case.question)
                old.append(int(any(core._relevant(names, s) for s in sources)))
    finally:
        core.close()
    corpus.questions = questions
    corpus.raw = np.array(rows)
    corpus.features = anchored(corpus.raw, corpus.anchors)
    corpus.labels = np.array(labels)
    corpus.old_rule = np.array(old)
    assert Signals.FEATURES  # the column order of ``features``


def default_anchors(measured: list[Anchors]) -> dict[str, object]:
    """For an index not measured yet: halfway between the fitted corpora's anchors."""
    from bot.answerability import Signals

    def middle(side: str) -> dict[str, float]:
        return {n: round(float(np.mean([getattr(a, side)[n] for a in measured])), 6) for n in Signals.FEATURES}

    return {"answerable": middle("answerable"), "off_topic": middle("off_topic"), "chunks": 0}


def anchored(raw: np.ndarray, anchors: Anchors | None) -> np.ndarray:
    """The signals in ``ANCHORED`` read between this index's anchors (``bot/calibration.py``)."""
    from bot.answerability import Signals

    out = raw.copy()
    if anchors is not None:
        for j, name in enumerate(Signals.FEATURES):
            if name in ANCHORED:
                out[:, j] = [anchors.place(name, v) for v in raw[:, j]]
    return out


class Fitted:
    """A logistic regression and its threshold: the probability under which at most
    ``_FALSE_REFUSALS`` of the training set's answerable questions fall (never above 0.5).
    A refused question the docs do answer costs a user more than a weak answer with sources."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.model = make_pipeline(StandardScaler(), LogisticRegression(C=_C, max_iter=1000)).fit(x, y)
        answerable = np.sort(self.model.predict_proba(x)[y == 1, 1])
        self.threshold = min(0.5, float(answerable[int(_FALSE_REFUSALS * len(answerable))]))

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (self.model.predict_proba(x)[:, 1] >= self.threshold).astype(int)


def cross_validated(x: np.ndarray, y: np.ndarray, strata: np.ndarray | None = None) -> np.ndarray:
    """Out-of-fold predictions (model and threshold fitted without the fold); folds keep the share
    of each stratum (label, or label x corpus)."""
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(n_splits=_FOLDS, shuffle=True, random_state=0)
    predicted = np.zeros(len(y), dtype=int)
    for train, test in folds.split(x, y if strata is None else strata):
        predicted[test] = Fitted(x[train], y[train]).predict(x[test])
    return predicted


def scores(predicted: np.ndarray, y: np.ndarray) -> dict[str, object]:
    unanswerable = y == 0
    answerable = y == 1
    return {
        "refused_unanswerable": f"{int((predicted[unanswerable] == 0).sum())}/{int(unanswerable.sum())}",
        "refusal_accuracy": round(float((predicted[unanswerable] == 0).mean()), 3),
        "false_refusals": f"{int((predicted[answerable] == 0).sum())}/{int(answerable.sum())}",
        "false_refusal_rate": round(float((predicted[answerable] == 0).mean()), 3),
    }


def question_files(corpus: str, sets: str) -> list[Path]:
    samples = REPO / "samples"
    tuning = [samples / f"tune-{corpus}.jsonl", samples / f"tune-{corpus}-2.jsonl"]
    if sets == "tuning":
        return tuning
    return [samples / ("eval.jsonl" if corpus == "handbook" else "eval-python-docs.jsonl"), tuning[0]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python-config", type=Path, default=REPO / "samples" / "python-docs.toml")
    parser.add_argument("--python-data-dir", type=Path, help="RAGBOT_DATA_DIR of the Python docs index")
    parser.add_argument("--write", action="store_true", help="write bot/answerability.json")
    parser.add_argument("--dump", type=Path, help="write every question's signals and label here (JSON)")
    parser.add_argument(
        "--sets",
        choices=["shipped", "tuning"],
        default="shipped",
        help="shipped: each corpus's eval and tuning sets (what ships); tuning: its tuning sets only "
        "(the two of each corpus, never the eval set), to choose settings on",
    )
    args = parser.parse_args()
    if args.python_data_dir:
        os.environ["RAGBOT_DATA_DIR"] = str(args.python_data_dir)
    python = Corpus(
        "python-docs",
        args.python_config,
        question_files("python-docs", args.sets),
    )
    collect(python)
    os.environ.pop("RAGBOT_DATA_DIR", None)
    handbook = Corpus(
        "handbook",
        indexed_handbook("ragbot-fit-"),
        question_files("handbook", args.sets),
    )
    collect(handbook)
    corpora = [handbook, python]
    if args.dump:
        rows = [
            {"corpus": c.name, "question": q, "answerable": int(label), "signals": [round(float(v), 4) for v in f]}
            for c in corpora
            for q, label, f in zip(c.questions or [], c.labels, c.features)  # type: ignore[arg-type]
        ]
        args.dump.write_text(json.dumps(rows, indent=1), encoding="utf-8")

    report: dict[str, object] = {"machine": machine(), "folds": _FOLDS}
    for corpus in corpora:
        assert corpus.features is not None and corpus.labels is not None and corpus.old_rule is not None
        report[corpus.name] = {
            "questions": len(corpus.labels),
            "learned, 5-fold CV": scores(cross_validated(corpus.features, corpus.labels), corpus.labels),
            "old rule (min_score)": scores(corpus.old_rule, corpus.labels),
        }
    for train, test in ((handbook, python), (python, handbook)):
        model = Fitted(train.features, train.labels)  # type: ignore[arg-type]
        report[f"fitted on {train.name}, tested on {test.name}"] = scores(model.predict(test.features), test.labels)  # type: ignore[arg-type]
        raw = Fitted(train.raw, train.labels)  # type: ignore[arg-type]
        raw_scores = scores(raw.predict(test.raw), test.labels)  # type: ignore[arg-type]
        report[f"raw signals: fitted on {train.name}, tested on {test.name}"] = raw_scores
    x = np.vstack([c.features for c in corpora])  # type: ignore[misc]
    y = np.concatenate([c.labels for c in corpora])  # type: ignore[misc]
    groups = np.concatenate([[i] * len(c.labels) for i, c in enumerate(corpora)])  # type: ignore[arg-type]
    pooled = cross_validated(x, y, strata=y * len(corpora) + groups)
    report["both corpora, 5-fold CV"] = {
        corpus.name: scores(pooled[groups == i], y[groups == i]) for i, corpus in enumerate(corpora)
    }
    final = Fitted(x, y)
    scaler, regression = final.model.steps[0][1], final.model.steps[1][1]
    from bot.answerability import Signals

    shipped = {
        "features": list(Signals.FEATURES),
        "mean": [round(float(v), 6) for v in scaler.mean_],
        "scale": [round(float(v), 6) for v in scaler.scale_],
        "coef": [round(float(v), 6) for v in regression.coef_[0]],
        "intercept": round(float(regression.intercept_[0]), 6),
        "threshold": round(final.threshold, 6),
        "anchored": list(ANCHORED),
        "default_anchors": default_anchors([c.anchors for c in corpora if c.anchors is not None]),
    }
    report["anchors"] = {c.name: c.anchors.to_json() for c in corpora if c.anchors is not None}
    report["shipped model"] = shipped
    print(json.dumps(report, indent=2))
    if args.write and args.sets == "shipped":
        (REPO / "bot" / "answerability.json").write_text(json.dumps(shipped) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
