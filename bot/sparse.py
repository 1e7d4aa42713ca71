"""Lexical (BM25-style) sparse vectors, the keyword half of hybrid retrieval.

Documents get BM25's saturated term frequency, normalised by length; Qdrant's IDF modifier
on the sparse vector supplies the inverse document frequency from the collection itself, so
nothing here needs corpus statistics. Identifiers are kept whole (``os.path.join``,
``ERR_CONN_RESET``) and also split into their parts, so both spellings match.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

__all__ = ["SparseVector", "document_vector", "query_vector", "terms", "identifiers"]

SparseVector = tuple[list[int], list[float]]  # (indices, values)

_K1 = 1.2
_B = 0.75
_AVERAGE_TERMS = 120.0  # a 256-token chunk holds about this many terms
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:[.:/-][A-Za-z0-9_]+)*|\d+(?:\.\d+)*")
_PARTS = re.compile(r"[._:/-]+")
_STOPWORDS = frozenset(
    "a an and are as at be but by can do does for from how i if in into is it its me my not of on or our "
    "so than that the their then there these this to was we what when where which who why will with you "
    "your".split()
)


def _stem(word: str) -> str:
    """Plural folding only: enough for 'files' to match 'file' without mangling identifiers."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    found: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group().lower()
        if _PARTS.search(token) or "_" in token:  # an identifier: keep it whole, and its parts
            found.append(token)
            found.extend(part for part in _PARTS.split(token.replace("_", ".")) if len(part) > 1)
        elif token not in _STOPWORDS:
            found.append(_stem(token))
    return found


def identifiers(text: str) -> list[str]:
    """Tokens that can only be names: dotted (os.path.join), snake_case (ERR_CONN_RESET), ticket keys (OPS-1234)."""
    names = []
    for token in (m.group() for m in _TOKEN.finditer(text)):
        if len(token) < 4 or token.replace(".", "").isdigit():  # "e.g", "3.11"
            continue
        ticket = "-" in token and any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
        if "_" in token or "." in token or ticket:
            names.append(token)
    return names


def _index(term: str) -> int:
    return int.from_bytes(hashlib.blake2b(term.encode(), digest_size=4).digest(), "little")


def document_vector(text: str) -> SparseVector:
    counts = Counter(_index(term) for term in terms(text))
    length = sum(counts.values()) or 1
    norm = _K1 * (1 - _B + _B * length / _AVERAGE_TERMS)
    indices = sorted(counts)
    return indices, [counts[i] * (_K1 + 1) / (counts[i] + norm) for i in indices]


def query_vector(text: str) -> SparseVector:
    indices = sorted({_index(term) for term in terms(text)})
    return indices, [1.0] * len(indices)
