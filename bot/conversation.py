"""Follow-ups in a thread: rewrite "and on weekends?" into a question that stands alone.

Retrieval only sees one string, so a follow-up that leans on the thread ("what about
Fridays?", "how long does it take?") is joined with the user's previous question. This is
a rule, not a model: it needs no LLM and never adds words that nobody in the thread wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Turn", "standalone_question"]

_REFERRING = re.compile(
    r"\b(it|its|that|this|those|these|they|them|their|there|he|she|same|also|instead|else|then|one)\b"
    r"|^(and|or|but|so|what about|how about|what if|why)\b",
    re.I,
)
_SHORT_WORDS = 5


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "bot"]
    text: str


def standalone_question(history: list[Turn], follow_up: str) -> str:
    previous = [turn.text for turn in history if turn.role == "user" and turn.text.strip()]
    if not previous:
        return follow_up
    if len(follow_up.split()) <= _SHORT_WORDS or _REFERRING.search(follow_up.strip()):
        return f"{previous[-1].strip()} {follow_up.strip()}"
    return follow_up
