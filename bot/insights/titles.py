"""A suggested title for the section a gap asks for, from the words its phrasings share.

"Can I expense my gym membership?", "will acme cover part of my gym subscription" and "does
the company pay for a gym?" share *gym*: the title is the words most phrasings share (at least
two of them and a third, at most three words), in the order the representative question uses them.
Question words, filler and the verbs people wrap a topic in ("how", "can", "my", "get", "take")
never make a title, and word forms are merged ("promotion", "promotions").
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

__all__ = ["suggest_title", "content_words"]

_WORD = re.compile(r"[a-z0-9][a-z0-9'+#.-]*[a-z0-9+#]|[a-z0-9]")
_MAX_WORDS = 3
_STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any anyone anything are aren't around as ask at
    be been before being best between both but by can can't could did didn't do does doesn't doing don't
    during each else ever every few for from get gets getting give go going got had has have having he her
    here hers how i i'm if in into is isn't it it's its just know let like many may me might more most much
    must my need needs no nor not now of off ok okay on once one only or other our ours out over own please
    possible put really right same say see shall she should so some someone something still such sure tell
    than thanks that that's the their them then there there's these they thing things this those through
    to too under until up us use used using via want wanted was way we we're well were what what's whats
    when where where's which while who whom whose why will with within without would yes yet you your
    yours anybody hey hi hello help find work works company acme team employee employees
    take taking make buy bring connect decide decides request contact claim fix fixes keep keeps happen
    happens change update allowed able new next often long won't now
    """.split()
)


def content_words(text: str) -> list[str]:
    """The words of ``text`` that could name a topic, lower-cased, in order."""
    words = _WORD.findall(text.lower())
    return [w for w in words if w not in _STOPWORDS and not w.isdigit() and len(w) > 1]


def _stem(word: str) -> str:
    """A crude stem, only to count "promotion" and "promotions", "broke" and "broken" as one word."""
    for suffix in ("ments", "ment", "ings", "ing", "ies", "es", "ed", "en", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def suggest_title(representative: str, phrasings: Sequence[str]) -> str:
    """A short title from the words most of ``phrasings`` share, ordered as ``representative``
    has them; the representative's own words when the phrasings share none (a cluster of one)."""
    documents = [{_stem(w) for w in content_words(p)} for p in phrasings] or [
        {_stem(w) for w in content_words(representative)}
    ]
    frequency = Counter(stem for stems in documents for stem in stems)
    surface: dict[str, Counter[str]] = {}
    for phrasing in [representative, *phrasings]:
        for word in content_words(phrasing):
            surface.setdefault(_stem(word), Counter())[word] += 1
    own = [_stem(w) for w in content_words(representative)]
    order = {stem: i for i, stem in reversed(list(enumerate(own)))}
    needed = min(len(documents), max(2, math.ceil(len(documents) / 3)))  # shared: by two phrasings at least
    shared = [stem for stem, n in frequency.items() if n >= needed] or list(order)
    best = sorted(shared, key=lambda s: (-frequency[s], order.get(s, len(order)), s))[:_MAX_WORDS]
    ordered = sorted(best, key=lambda s: (order.get(s, len(order)), -frequency[s], s))
    if not ordered:
        return representative.strip().rstrip("?").capitalize()
    title = " ".join(surface[stem].most_common(1)[0][0] for stem in ordered)
    return title[:1].upper() + title[1:]
