"""Answers that name the API the question describes in words ("random int" -> ``randint``)."""

from __future__ import annotations

from bot.embedder import Embedder
from bot.generate.extractive import ExtractiveGenerator
from bot.models import Passage
from bot.names import code_names, name_coverage, spelled_terms
from bot.retriever import RetrievedSource
from bot.terms import content_terms


def passage(doc: str, section: str, text: str, score: float) -> Passage:
    return Passage(
        doc_id=f"py:{doc}",
        chunk_index=0,
        source="py",
        url=f"https://docs.python.org/3.11/library/{doc}.html",
        title=doc,
        section=section,
        text=text,
        score=score,
    )


def test_code_names_are_dotted_snake_camel_called_or_quoted_not_plain_words() -> None:
    text = "Use random.randint(a, b), `choice`, token_hex, GzipFile or b64encode; Return a value (see below)."

    assert code_names(text) == ["random.randint", "choice", "token_hex", "GzipFile", "b64encode"]


def test_a_name_is_spelt_by_the_question_words_it_abbreviates() -> None:
    words = frozenset({"random", "int", "between", "10"})

    assert spelled_terms("randint", words) == {"random", "int"}
    assert spelled_terms("randbelow", words) == frozenset()  # "below" is not asked for
    assert spelled_terms("b64decode", frozenset({"base64", "encode"})) == frozenset()  # "ecode" is not "encode"
    assert spelled_terms("b64encode", frozenset({"base64", "encode", "bytes"})) == {"base64", "encode"}
    assert spelled_terms("nsmallest", frozenset({"heapq", "smallest", "items"})) == {"smallest"}
    assert spelled_terms("smtplib", frozenset({"send", "email", "smtp"})) == {"smtp"}


def test_name_coverage_counts_the_question_words_the_unit_names_spell() -> None:
    terms = content_terms("base64 encode bytes")

    assert name_coverage(terms, "base64.b64encode(s, altchars=None) Encode the bytes-like object s.") == 2 / 3
    # b32encode is not what was asked, so its module's name does not count either
    assert name_coverage(terms, "base64.b32encode(s) Encode the bytes-like object s using Base32.") == 0.0
    assert name_coverage(terms, "Encode bytes as text.") == 0.0  # plain words are whole-word matching's job


def test_the_answer_quotes_the_entry_whose_name_is_what_the_question_asks_for(embedder: Embedder) -> None:
    # The best chunk holds the Base32 entries, whose descriptions read just like the question;
    # the function asked for, b64encode, is in the second-best chunk.
    sources = [
        RetrievedSource(
            n=1,
            passages=[
                passage(
                    "base64",
                    "RFC 4648 Encodings",
                    "base64.b32encode(s)\nEncode the bytes-like object s using Base32 and return the encoded bytes.\n\n"
                    "base64.b32decode(s, casefold=False, map01=None)\n"
                    "Decode the Base32 encoded bytes-like object or ASCII string s and return the decoded bytes.",
                    0.61,
                )
            ],
        ),
        RetrievedSource(
            n=2,
            passages=[
                passage(
                    "base64",
                    "RFC 4648 Encodings",
                    "base64.b64encode(s, altchars=None)\n"
                    "Encode the bytes-like object s using Base64 and return the encoded bytes.\n\n"
                    "base64.b64decode(s, altchars=None, validate=False)\n"
                    "Decode the Base64 encoded bytes-like object or ASCII string s and return the decoded bytes.",
                    0.60,
                )
            ],
        ),
    ]

    answer = ExtractiveGenerator(embedder, max_units=1).generate("base64 encode bytes", sources)

    assert answer == (
        "base64.b64encode(s, altchars=None) Encode the bytes-like object s using Base64"
        " and return the encoded bytes. [2]"
    )
