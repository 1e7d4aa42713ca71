"""Which of the question's words a text's code names spell out.

People ask in words what the docs name in code: "random int between 1 and 10" is answered by
``random.randint``, "deep copy a list" by ``copy.deepcopy``, "base64 encode bytes" by
``base64.b64encode``, "temp directory" by ``tempfile.TemporaryDirectory``. Whole-word matching
sees none of these, and the embedder reads ``randint`` as noise, so a unit that names the right
function loses to prose that repeats the question's words. Splitting each name into the words it
abbreviates lets answer selection prefer the unit whose name *is* what the question asks for.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["code_names", "name_parts", "spelled_terms", "name_coverage"]

# dotted or plain names; which of them are code is decided by _is_code
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_CAMEL = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_MIN_PREFIX = 3  # "rand" abbreviates "random"; "ra" abbreviates too much
_MIN_STEM = 4  # "smtplib" starts with the question's "smtp"; a 3-letter word says too little
_MAX_SKIPPED = 1  # letters of a name no question word explains ("n" in "nsmallest")


def code_names(text: str) -> list[str]:
    """Names in ``text`` that can only be code: dotted (``copy.deepcopy``), snake_case, camelCase
    or with digits (``b64encode``), or called (``randint(``), or in backticks."""
    names = []
    for match in _NAME.finditer(text):
        name = match.group()
        called = text[match.end() : match.end() + 1] == "("
        quoted = match.start() > 0 and text[match.start() - 1] == "`"
        if _is_code(name) or called or quoted:
            names.append(name.strip("._"))
    return [n for n in names if n]


def name_parts(name: str) -> list[str]:
    """Lower-case parts of a name: split at dots, underscores and camelCase humps; parts of one
    or two letters ("os", "is") say nothing and are dropped."""
    parts: list[str] = []
    for piece in re.split(r"[._]+", name):
        humps = _CAMEL.findall(piece) if piece != piece.lower() and piece != piece.upper() else [piece]
        parts.extend(h.lower() for h in humps)
    return [p for p in parts if len(p) > 2]


def spelled_terms(part: str, terms: frozenset[str]) -> frozenset[str]:
    """The question words that spell out all of ``part`` (nothing when some of it is unexplained):
    ``randint`` from {random, int}, ``b64encode`` from {base64, encode}, ``smtplib`` from {smtp}."""
    return _spell(part, terms)


def name_coverage(terms: set[str], text: str) -> float:
    """Share of the question's ``terms`` that the code names in ``text`` spell out."""
    words = frozenset(t for t in terms if t.isalnum())
    if not words:
        return 0.0
    found: set[str] = set()
    for name in code_names(text):
        *qualifiers, last = name.split(".")
        own = [_spell(part, words) for part in name_parts(last)]
        if not own or not all(own):
            continue  # "check_output" is not what "get the output" asks for, nor "randbelow" "random int"
        found.update(*own)
        for part in name_parts(".".join(qualifiers)):
            found |= _spell(part, words)  # the module ("random" of random.randint) counts with it
    return len(found) / len(terms)


@lru_cache(maxsize=65536)
def _spell(part: str, terms: frozenset[str]) -> frozenset[str]:
    # best[i]: (letters skipped, words used) for the cheapest way to explain part[:i]
    best: list[tuple[int, frozenset[str]] | None] = [None] * (len(part) + 1)
    best[0] = (0, frozenset())
    for i in range(len(part)):
        state = best[i]
        if state is None:
            continue
        skipped, used = state
        _offer(best, i + 1, skipped + 1, used)  # a letter no word explains
        for term in terms:
            for end in _spans(part, i, term):
                _offer(best, end, skipped, used | {term})
    final = best[len(part)]
    if final is None or final[0] > _MAX_SKIPPED or not final[1]:
        return frozenset()
    return final[1]


def _spans(part: str, start: int, term: str) -> list[int]:
    """Where a piece of ``part`` starting at ``start`` can end if ``term`` explains it: the whole
    word, a prefix of it ("rand"), an abbreviation keeping its first and last letter ("b64"), or,
    for the name's last piece, anything that starts with the word ("smtplib", "temporary")."""
    ends = []
    if part.startswith(term, start):
        ends.append(start + len(term))
    if part[start] != term[0]:
        return ends
    for length in range(_MIN_PREFIX, min(len(term), len(part) - start) + 1):
        piece = part[start : start + length]
        if term.startswith(piece) or (
            length <= _max_abbreviation(term) and piece[-1] == term[-1] and _subsequence(piece, term)
        ):
            ends.append(start + length)
    if len(term) >= _MIN_STEM and part.startswith(term, start):
        ends.append(len(part))
    return ends


def _max_abbreviation(term: str) -> int:
    """An abbreviation that is not a prefix drops letters ("b64" for "base64", "msg" for
    "message"); one nearly as long as the word is a different word ("ecode" in "decode")."""
    return len(term) // 2 + 1


def _subsequence(short: str, long: str) -> bool:
    letters = iter(long)
    return all(c in letters for c in short)


def _offer(best: list[tuple[int, frozenset[str]] | None], at: int, skipped: int, used: frozenset[str]) -> None:
    current = best[at]
    if current is None or (skipped, -len(used)) < (current[0], -len(current[1])):
        best[at] = (skipped, used)


def _is_code(name: str) -> bool:
    if "." in name or "_" in name.strip("_") or any(c.isdigit() for c in name):
        return True
    return any(c.isupper() for c in name[1:]) and any(c.islower() for c in name)
