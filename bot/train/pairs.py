"""Training pairs (question -> the chunks that answer it) from three places.

1. The corpus itself, no labels: pseudo-queries made from each section's heading, its first
   sentence, and the identifiers it defines (``doc2query.py`` adds model-written questions).
2. Feedback from chat: a 👍 makes (question -> cited chunks) positive, a 👎 makes the cited
   chunks hard negatives for that question.
3. QA files in the ``ragbot eval`` format (question, expected_urls, answer_contains, answerable):
   ``qa.py``.

Positives are corpus rows (see ``corpus.py``). A page named by a QA line stands for all of its
chunks: which chunk answers is latent, and the loss sums over them.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from bot.blocks import SENTENCE_END
from bot.chatstate import FeedbackRecord
from bot.generate.base import CITATION
from bot.sparse import identifiers
from bot.train.corpus import Corpus
from bot.units import answer_units, flatten

__all__ = [
    "Pair",
    "Origin",
    "CORPUS_METHODS",
    "corpus_pairs",
    "feedback_pairs",
    "stable_fraction",
    "heading_query",
    "first_sentence_query",
]

log = logging.getLogger(__name__)

Origin = Literal["heading", "first_sentence", "identifier", "doc2query", "feedback", "qa"]
CORPUS_METHODS: tuple[Origin, ...] = ("heading", "first_sentence", "identifier", "doc2query")

_GENERIC_HEADINGS = frozenset(
    "overview introduction intro examples example notes note usage basic usage see also details summary "
    "background reference contents faq tips caveats limitations".split()
)
_HEADING_FORMS = ("{h}", "what is {h}", "how does {h} work", "{h} explained", "tell me about {h}")
_IDENTIFIER_FORMS = ("what does {i} do", "{i}", "how do i use {i}", "{i} example")
# An API entry as reference docs write it: ``json.dumps(obj, *, ...) Serialize obj ...``, or a
# constant or error code named at the start of a line and explained after it (``ERR_X: ...``).
_DEFINES = re.compile(
    r"^(?:class |exception |async |def |`|\*\*)?(?P<name>[A-Za-z_][\w.]*[A-Za-z0-9_])"
    r"(?:\(|`?\*{0,2}:\s|\s+(?=[A-Z]))"
)
_MAX_DEFINITIONS = 12  # a chunk "defining" more names than this is a list or a table of contents
# An entry's description that opens with an imperative ("Return the ...", "Remove any ...") is
# what the name does, in the words a user asks for it: "how do i remove any common leading whitespace".
_AFTER_SIGNATURE = re.compile(r"^[^\s(]+(?:\(.*?\))?\s+(?=[A-Z])")
_ASKED_AS = {
    "return": "get",
    "returns": "get",
    "create": "create",
    "remove": "remove",
    "convert": "convert",
    "send": "send",
    "set": "set",
    "get": "get",
    "read": "read",
    "write": "write",
    "open": "open",
    "close": "close",
    "parse": "parse",
    "serialize": "serialize",
    "deserialize": "deserialize",
    "encode": "encode",
    "decode": "decode",
    "compute": "compute",
    "calculate": "calculate",
    "add": "add",
    "delete": "delete",
    "insert": "insert",
    "copy": "copy",
    "move": "move",
    "make": "make",
    "start": "start",
    "stop": "stop",
    "run": "run",
    "execute": "run",
    "raise": "raise",
    "register": "register",
    "split": "split",
    "join": "join",
    "sort": "sort",
    "format": "format",
    "check": "check",
    "test": "test",
    "wait": "wait",
    "load": "load",
    "save": "save",
    "change": "change",
    "print": "print",
    "display": "display",
    "generate": "generate",
    "compress": "compress",
    "decompress": "decompress",
    "extract": "extract",
    "search": "search",
    "find": "find",
    "match": "match",
    "replace": "replace",
    "construct": "construct",
    "build": "build",
    "apply": "apply",
    "call": "call",
    "schedule": "schedule",
    "cancel": "cancel",
}
_DESCRIPTION_WORDS = 12
_DEFINITION_SENTENCE = re.compile(r"^(?:the |a |an )?(?P<subject>[\w .,'/-]{3,60}?) (?P<verb>is|are|means) ", re.I)
_MAX_QUERY_WORDS = 20
_CLEAN = re.compile(r"[`*¶]+|^#+\s*|^\d+(?:\.\d+)*\s+")


@dataclass(frozen=True)
class Pair:
    """One training or held-out example.

    ``group`` decides the held-out split: a document id for pseudo-queries (held-out documents
    contribute none of their pseudo-queries to training), the question for QA and feedback."""

    query: str
    positives: tuple[int, ...]
    origin: Origin
    group: str
    negatives: tuple[int, ...] = ()  # rows known to be wrong for this question (👎)
    answer: str = ""  # the answer-bearing text, for the marginal-likelihood term ("": none known)
    answerable: bool = True  # QA lines marked "answerable": false (refusal accuracy)


def stable_fraction(seed: int, key: str) -> float:
    """A number in [0, 1) fixed by the seed and the key: the same split on every run."""
    digest = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _choose(seed: int, key: str, forms: tuple[str, ...]) -> str:
    return forms[int(stable_fraction(seed, key) * len(forms))]


# -- 1. the corpus ---------------------------------------------------------------------
def corpus_pairs(corpus: Corpus, seed: int, methods: Iterable[Origin] = CORPUS_METHODS) -> list[Pair]:
    """Pseudo-queries for the sections of every document (doc2query is made elsewhere)."""
    wanted = set(methods)
    sections: dict[tuple[str, str], list[int]] = {}
    for row, passage in enumerate(corpus.passages):
        sections.setdefault((passage.doc_id, passage.section), []).append(row)
    pairs: list[Pair] = []
    for (doc_id, section), rows in sections.items():
        first = corpus.passages[rows[0]]
        if "heading" in wanted and (query := heading_query(first.title, section, seed)):
            pairs.append(Pair(query, tuple(rows), "heading", doc_id, answer=_first_unit(first.text)))
        if "first_sentence" in wanted and (found := first_sentence_query(first.text, seed)):
            query, sentence = found
            pairs.append(Pair(query, (rows[0],), "first_sentence", doc_id, answer=sentence))
    if "identifier" in wanted:
        pairs.extend(_identifier_pairs(corpus, seed))
    return pairs


def _clean(text: str) -> str:
    return " ".join(_CLEAN.sub("", text).split()).strip(" .:-—")


def heading_query(title: str, section: str, seed: int) -> str | None:
    """The section's own heading as a question; a generic heading ("Examples") borrows the title."""
    heading = _clean(section.split(" > ")[-1]) if section else ""
    topic = _clean(title.split(" — ")[0]) if title else ""
    if not heading:
        heading = _clean(title.replace(" — ", ": "))
    elif heading.lower() in _GENERIC_HEADINGS or len(heading) < 4:
        heading = f"{topic} {heading}".strip()
    if len(heading) < 4:
        return None
    return _choose(seed, f"h:{title}:{section}", _HEADING_FORMS).format(h=heading.lower())


def _first_unit(text: str) -> str:
    units = answer_units(text)
    return flatten(units[0].text) if units else ""


def first_sentence_query(text: str, seed: int) -> tuple[str, str] | None:
    """A definition sentence becomes "what is <subject>"; another first sentence, its first words."""
    for unit in answer_units(text):
        if unit.kind != "sentence":
            continue
        sentence = flatten(unit.text)
        words = sentence.split()
        if len(words) < 6:
            return None
        definition = _DEFINITION_SENTENCE.match(sentence)
        if definition:
            subject = _clean(definition.group("subject")).lower()
            return f"what {definition.group('verb').lower()} {subject}", sentence
        query = " ".join(words[:_MAX_QUERY_WORDS]).rstrip(".,;:").lower()
        return _clean(query), sentence
    return None


def _identifier_pairs(corpus: Corpus, seed: int) -> list[Pair]:
    """Identifiers a chunk defines (a line that starts with the name: ``json.dumps(obj, ...)``,
    ``ERR_CONN_RESET: ...``), asked about; every chunk that defines the name is a positive."""
    defined: dict[str, list[tuple[int, str]]] = {}
    for row, passage in enumerate(corpus.passages):
        found: dict[str, str] = {}
        in_code = False
        for line in passage.text.split("\n"):
            stripped = line.strip()
            if stripped.startswith(("```", "~~~")):
                in_code = not in_code
            if in_code or not stripped:
                continue
            match = _DEFINES.match(stripped)
            if match and match.group("name") in identifiers(match.group("name")):
                found.setdefault(match.group("name"), stripped[:300])
        if len(found) > _MAX_DEFINITIONS:
            continue
        for name, line in found.items():
            defined.setdefault(name, []).append((row, line))
    pairs = []
    for name, entries in defined.items():
        if len(entries) > 3:  # named everywhere (a common prefix), defined nowhere in particular
            continue
        rows = tuple(row for row, _ in entries)
        description = _AFTER_SIGNATURE.sub("", entries[0][1], count=1)
        answer = SENTENCE_END.split(description)[0] if description != entries[0][1] else entries[0][1]
        query = _choose(seed, f"i:{name}", _IDENTIFIER_FORMS).format(i=name)
        pairs.append(Pair(query, rows, "identifier", corpus.doc(rows[0]), answer=answer))
        if (asked := _asked_as(answer)) is not None:
            pairs.append(Pair(asked, rows, "identifier", corpus.doc(rows[0]), answer=answer))
    return pairs


def _asked_as(description: str) -> str | None:
    """ "Remove any common leading whitespace from every line in text." -> "how do i remove any
    common leading whitespace from every line"; None unless it opens with an imperative verb."""
    words = description.rstrip(".").split()
    verb = _ASKED_AS.get(words[0].lower()) if words else None
    if verb is None or len(words) < 3:
        return None
    return " ".join(["how do i", verb, *words[1:_DESCRIPTION_WORDS]]).lower().rstrip(",;:")


# -- 2. feedback -------------------------------------------------------------------------
def feedback_pairs(records: list[FeedbackRecord], corpus: Corpus, not_found_text: str) -> list[Pair]:
    """👍 on an answer: its question -> the chunks it cited. 👎: those chunks are hard negatives.

    A vote on a refusal ("not in the docs") says nothing about which chunk answers, and is skipped."""
    pairs = []
    for record in records:
        if record.answer.strip() == not_found_text or not record.sources:
            continue
        cited = {int(n) for n in CITATION.findall(record.answer)}
        urls = [url for n, url in enumerate(record.sources, start=1) if n in cited] or record.sources[:1]
        rows = tuple(sorted({row for url in urls for row in corpus.by_url.get(url, [])}))
        if not rows:
            log.warning("feedback on %r cites pages no longer in the index; skipped", record.question[:60])
            continue
        answer = " ".join(CITATION.sub("", record.answer).split())
        if record.vote == "up":
            pairs.append(Pair(record.question, rows, "feedback", f"q:{record.question.lower()}", answer=answer))
        else:
            pairs.append(Pair(record.question, (), "feedback", f"q:{record.question.lower()}", negatives=rows))
    return pairs
