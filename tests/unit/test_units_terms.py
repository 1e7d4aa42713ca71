"""The question's content words: what answer selection and the answer-or-refuse decision count."""

from __future__ import annotations

from bot.terms import content_terms, coverage


def test_a_negation_is_not_a_content_word_the_docs_must_contain() -> None:
    # "doesn't" splits at the apostrophe; its "doesn" is in no page, so a question about the
    # right page looked a fifth off-topic and was refused.
    terms = content_terms("what's the escalation if primary on-call doesn't answer")

    assert terms == {"escalation", "primary", "on-call", "answer"}
    page = "Escalation: when the primary on-call does not answer in 5 minutes, page the secondary."
    assert coverage(terms, page) == 1.0
    assert content_terms("it doesn’t build and I dont know why") == {"build", "know"}
