"""Each index is measured once, without labels, so the answer-or-refuse decision reads its signals
on the index's own scale (bot/calibration.py)."""

from __future__ import annotations

import time
from pathlib import Path

from bot.answerability import Anchors, AnswerabilityModel, Signals, load_model
from bot.app.settings import load_settings
from bot.calibration import META_KEY, OFF_TOPIC_QUESTIONS, answerable_questions, stale
from bot.core import RagCore

QUESTION = "what does nit mean in a review"


def signals(top_score: float, unknown: float) -> Signals:
    return Signals(top_score, 0.1, 0.6, 0.8, 0.6, 0.0, unknown)


def test_the_same_place_between_a_corpus_s_anchors_gets_the_same_decision() -> None:
    """A small handbook scores its questions' cosines lower than big API docs do; halfway between
    off-topic and answerable is halfway on either."""
    model = AnswerabilityModel(
        features=Signals.FEATURES,
        mean=(0.5, 0, 0, 0, 0, 0, 0.5),
        scale=(0.5, 1, 1, 1, 1, 1, 0.5),
        coef=(2.0, 0, 0, 0, 0, 0, 2.0),  # placed between anchors, both read "higher is answerable"
        intercept=0.0,
        anchored=("top_score", "unknown"),
    )
    handbook = Anchors({"top_score": 0.55, "unknown": 0.05}, {"top_score": 0.25, "unknown": 0.55})
    api_docs = Anchors({"top_score": 0.65, "unknown": 0.0}, {"top_score": 0.35, "unknown": 0.2})

    in_handbook = model.probability(signals(0.40, 0.30), handbook)
    in_api_docs = model.probability(signals(0.50, 0.10), api_docs)

    assert abs(in_handbook - in_api_docs) < 1e-9
    assert model.probability(signals(0.40, 0.30), api_docs) < in_handbook  # 0.40 is poor in the API docs
    assert model.inputs(signals(0.40, 0.30), handbook)[0] == 0.5


def test_the_shipped_decision_reads_two_signals_against_anchors_and_has_defaults() -> None:
    model = load_model()

    assert model.anchored == ("top_score", "unknown")
    assert model.default_anchors is not None
    assert model.default_anchors.answerable["top_score"] > model.default_anchors.off_topic["top_score"]


def test_anchors_are_stale_when_missing_from_another_setup_or_a_tenth_off() -> None:
    measured = Anchors({}, {}, chunks=1000, key="base|int8|k=5")

    assert stale(None, 1000, "base|int8|k=5")
    assert stale(measured, 1000, "query-2|int8|k=5")  # a new query encoder puts questions elsewhere
    assert not stale(measured, 1100, "base|int8|k=5") and not stale(measured, 900, "base|int8|k=5")
    assert stale(measured, 1101, "base|int8|k=5") and stale(measured, 899, "base|int8|k=5")


def test_index_records_where_the_handbook_puts_its_signals(indexed_config: Path) -> None:
    core = RagCore(load_settings(indexed_config))
    try:
        recorded = core.store.meta()[META_KEY]
        chunks = core.store.count()
        own = answerable_questions(core.store)
    finally:
        core.close()
    anchors = Anchors.from_json(recorded)

    assert anchors.chunks == chunks and anchors.key.startswith("base|int8|k=5|weighted")
    assert anchors.answerable["top_score"] > anchors.off_topic["top_score"] + 0.2
    assert anchors.answerable["unknown"] < anchors.off_topic["unknown"]
    assert len(own) == min(80, chunks) and len(OFF_TOPIC_QUESTIONS) == 40


def test_the_decision_reads_the_index_s_own_anchors(indexed_config: Path) -> None:
    """The same question is less answerable on an index whose own questions score higher."""
    settings = load_settings(indexed_config)
    core = RagCore(settings)
    try:
        recorded = core.store.meta()[META_KEY]
        as_measured = core.ask(QUESTION).decision["probability"]
        higher = {**recorded, "answerable": {**recorded["answerable"], "top_score": 0.95}}
        core.store.update_meta({META_KEY: higher})
        core.close()
        core = RagCore(settings)
        against_higher = core.ask(QUESTION).decision["probability"]
    finally:
        core.store.update_meta({META_KEY: recorded})  # the module's other tests read the measured ones
        core.close()

    assert against_higher < as_measured


def test_serve_measures_a_missing_record_in_the_background(indexed_config: Path) -> None:
    core = RagCore(load_settings(indexed_config))
    try:
        recorded = core.store.meta()[META_KEY]
        core.store.update_meta({META_KEY: None})  # as an index built by an older version
        core.anchors.background = True

        assert core.ask(QUESTION).answered  # answered at once, on the default anchors
        deadline = time.monotonic() + 120
        while META_KEY not in core.store.meta() and time.monotonic() < deadline:
            time.sleep(0.1)
        measured = core.store.meta().get(META_KEY)
    finally:
        core.close()

    assert measured is not None and measured["chunks"] == recorded["chunks"]
    assert abs(measured["answerable"]["top_score"] - recorded["answerable"]["top_score"]) < 0.02
