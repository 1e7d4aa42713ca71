"""The question's content words, and how many of them a text contains.

Answer selection and the answerability decision both ask "does this text talk about what the
question asks?"; they must count words the same way.
"""

from __future__ import annotations

import re

__all__ = ["content_terms", "coverage"]

_WORD = re.compile(r"[^\W_][\w.#/-]*[^\W_]|[^\W_]")  # any script; identifiers keep . _ # / -
_STOPWORDS = frozenset(
    "a an and are as at be by can could do does for from get got have how i if in is it its me my of on or "
    "our should so that the their there this to us was we what whats when where which who why will with would "
    "you your am im i'm any into just need want".split()
    # what is left of a negation once the apostrophe splits it ("doesn't" -> "doesn"): not a topic
    + "don doesn didn isn aren wasn weren won wouldn couldn shouldn haven hasn hadn dont doesnt didnt isnt".split()
)
_SUFFIX = re.compile(r"(?:ing|ed|es|s)$")
_PREFIX = 5  # a misspelt word counts when its first five letters match (``conects`` / ``connects``)


def content_terms(text: str) -> set[str]:
    """Lower-case words without stopwords; identifiers (``os.path.join``, ``ERR_CONN_RESET``) kept whole."""
    return {
        word for word in _WORD.findall(text.lower()) if word not in _STOPWORDS and (len(word) > 1 or word.isdigit())
    }


def coverage(terms: set[str], text: str) -> float:
    """Share of ``terms`` that ``text`` contains, counting plural/-ing/-ed forms and misspellings."""
    if not terms:
        return 0.0
    words = content_terms(text)
    stems = {_SUFFIX.sub("", w) for w in words}
    prefixes = {w[:_PREFIX] for w in words if len(w) >= _PREFIX}
    found = sum(
        1 for t in terms if t in words or _SUFFIX.sub("", t) in stems or (len(t) >= _PREFIX and t[:_PREFIX] in prefixes)
    )
    return found / len(terms)
