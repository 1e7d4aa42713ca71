"""Chat shorthand ("prod", "PR", "fri") is searched as the words the docs spell out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.core import RagCore
from bot.shorthand import expand_shorthand


def corpus(*words: str) -> Callable[[str], bool]:
    vocabulary = set(words)
    return lambda word: word in vocabulary


def test_shorthand_is_spelt_out_as_the_docs_write_it() -> None:
    docs = corpus("deploy", "production", "friday", "pull", "request")

    assert expand_shorthand("can i deploy to prod on a fri", docs) == "can i deploy to production on a friday"
    assert expand_shorthand("how many approvals does a PR need", docs) == "how many approvals does a pull request need"


def test_shorthand_the_docs_use_themselves_is_kept() -> None:
    assert expand_shorthand("how many approvals does a PR need", corpus("pr", "pull", "request")) == (
        "how many approvals does a PR need"
    )


def test_the_first_meaning_the_docs_use_is_taken_and_unknown_ones_are_left_alone() -> None:
    assert expand_shorthand("how long is the sec training", corpus("seconds", "training")) == (
        "how long is the seconds training"
    )
    assert expand_shorthand("how long is the sec training", corpus("training")) == "how long is the sec training"


def test_paths_names_and_urls_are_not_touched() -> None:
    question = "why does prod/config.yaml differ from https://x.example/prod and os.env.prod"

    assert expand_shorthand(question, corpus("production", "configuration")) == question


def test_a_sentence_may_end_after_the_shorthand_and_quoted_text_is_searched_as_typed() -> None:
    docs = corpus("deploy", "production", "database")

    assert expand_shorthand("can i deploy to prod.", docs) == "can i deploy to production."
    assert expand_shorthand('why "permission denied for db" in prod', docs) == (
        'why "permission denied for db" in production'
    )
    assert expand_shorthand("what does `db` mean", docs) == "what does `db` mean"


def test_ambiguous_and_ordinary_words() -> None:
    assert expand_shorthand("who is my hr contact", corpus("human", "resources", "hour")) == (
        "who is my human resources contact"
    )
    assert expand_shorthand("is the office open on sat", corpus("saturday")) == "is the office open on sat"


def test_without_a_corpus_check_the_first_meaning_is_used_and_team_shorthand_comes_first() -> None:
    assert expand_shorthand("who is the IC for prod", None, {"ic": ("incident commander",)}) == (
        "who is the incident commander for production"
    )


def test_a_chat_style_question_about_the_handbook_is_answered_not_refused(indexed_config: Path) -> None:
    """The handbook says "Production" and "Friday"; asked as people type it, the question used to
    be refused (its two key words unknown to the docs, p(answer) 0.21 against 0.455)."""
    from bot.app.settings import load_settings

    question = "can i deploy to prod on a fri"
    settings = load_settings(indexed_config)
    core = RagCore(settings)
    try:
        answer = core.ask(question)
        settings.retrieval.expand_shorthand = False
        literal = core.ask(question)
    finally:
        core.close()

    assert answer.answered and "Production deploys are allowed Monday to Thursday" in answer.text
    assert answer.question == question  # the thread shows what was asked
    assert answer.decision["unknown"] == 0.0
    assert not literal.answered and literal.decision["unknown"] > 0
