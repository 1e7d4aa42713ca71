"""A quote that doesn't say what it is about is labelled with its page's and section's headings."""

from __future__ import annotations

from adapters.slack.format import to_mrkdwn
from bot.embedder import Embedder
from bot.generate.extractive import ExtractiveGenerator, ScoredUnit, render_units
from bot.models import Passage
from bot.retriever import RetrievedSource
from bot.units import Unit


def source(n: int, title: str, section: str, text: str, score: float) -> RetrievedSource:
    doc = title.split()[0]
    return RetrievedSource(
        n=n,
        passages=[
            Passage(
                doc_id=f"py:{doc}",
                chunk_index=0,
                source="py",
                url=f"https://docs.python.org/3.11/library/{doc}.html",
                title=title,
                section=section,
                text=text,
                score=score,
            )
        ],
    )


TOMLLIB = source(
    1,
    "tomllib — Parse TOML files",
    "tomllib — Parse TOML files > Introduction",
    "This module provides an interface for parsing TOML (Tom's Obvious Minimal Language). "
    "It does not support writing TOML.",
    0.72,
)


def test_a_quote_that_does_not_name_its_subject_carries_the_page_and_section(embedder: Embedder) -> None:
    answer = ExtractiveGenerator(embedder, max_units=1).generate("parse a toml file", [TOMLLIB])

    assert answer == (
        "**tomllib — Parse TOML files › Introduction**: This module provides an interface for parsing "
        "TOML (Tom's Obvious Minimal Language). [1]"
    )
    assert to_mrkdwn(answer).startswith("*tomllib — Parse TOML files › Introduction*: This module")


def test_a_quote_that_names_its_subject_is_not_labelled(embedder: Embedder) -> None:
    sources = [
        source(
            1,
            "deploys",
            "Deploy windows",
            "Production deploys are allowed Monday to Thursday. Friday deploys need approval from the on-call lead.",
            0.7,
        )
    ]

    answer = ExtractiveGenerator(embedder, max_units=1).generate("can i deploy on a friday", sources)

    assert answer == "Production deploys are allowed Monday to Thursday. [1]"  # "deploys" names "deploys"


def test_each_source_s_quotes_get_their_own_label() -> None:
    def quote(n: int, text: str, place: str) -> ScoredUnit:
        return ScoredUnit(n, (n, 0, 0), Unit(text, "sentence", 0), 1.0, place)

    picked = [
        quote(1, "This module provides an interface for parsing TOML.", "tomllib — Parse TOML files > Introduction"),
        quote(1, "It does not support writing TOML.", "tomllib — Parse TOML files > Introduction"),
        quote(2, "Deserialize fp to a Python object.", "json — JSON encoder and decoder > Basic Usage"),
    ]

    assert render_units(picked) == (
        "**tomllib — Parse TOML files › Introduction**: This module provides an interface for parsing TOML."
        " It does not support writing TOML. [1]"
        " **json — JSON encoder and decoder › Basic Usage**: Deserialize fp to a Python object. [2]"
    )


def test_the_sentence_after_the_best_one_completes_it_when_it_names_what_was_asked(embedder: Embedder) -> None:
    """ "allowed Monday to Thursday" reads as "no" to a question about Friday; the next sentence,
    which scores lower on its own, says what Friday takes."""
    sources = [
        source(
            1,
            "Deploying to production",
            "Deploy windows",
            "Production deploys are allowed Monday to Thursday between 09:00 and 16:00 UTC. "
            "Friday deploys need approval from the on-call lead. "
            "Rollbacks are always allowed.",
            0.7,
        )
    ]

    answer = ExtractiveGenerator(embedder).generate("am I allowed to push to production on a friday afternoon", sources)

    assert "allowed Monday to Thursday" in answer and "Friday deploys need approval from the on-call lead." in answer
    assert "Rollbacks" not in answer


def quote(n: int, text: str, place: str, kind: str = "sentence") -> ScoredUnit:
    return ScoredUnit(n, (n, 0, 0), Unit(text, kind, 0), 1.0, place)  # type: ignore[arg-type]


def test_a_code_block_keeps_its_fence_at_a_line_start_under_the_label() -> None:
    picked = [quote(1, "```\ndata = load(fp)\n```", "tomllib — Parse TOML files > Examples", "block")]

    assert render_units(picked) == "**tomllib — Parse TOML files › Examples**: [1]\n```\ndata = load(fp)\n```"


def test_a_short_subject_is_matched_as_a_whole_word_and_odd_titles_are_not_bolded() -> None:
    os_page = "os — Miscellaneous operating system interfaces > Files and Directories"
    named = [quote(1, "Return a list of the entries in the directory given by path, using os conventions.", os_page)]
    unnamed = [quote(1, "Those functions return a list of the entries in the directory.", os_page)]
    dunder = [quote(1, "Code run from the command line has this name.", "__main__ — Top-level code environment")]

    assert render_units(named).startswith("Return a list")
    assert render_units(unnamed).startswith("**os — Miscellaneous operating system interfaces › Files and")
    assert render_units(dunder).startswith("__main__ — Top-level code environment: Code run")
