"""One question asked in chat, as the question log keeps it (``[insights]``, ``ragbot gaps``, /admin).

The record is written when the question is answered (or refused, or fails, or is rate
limited); the posted message is attached to it afterwards, and the 👍/👎 and escalations on
that message update it. Both chat state engines store the same fields, so every report reads
one shape.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["QuestionRecord", "Outcome", "OUTCOMES", "ALL_SETS"]

Outcome = Literal["answered", "refused", "error", "rate_limited"]
OUTCOMES: tuple[str, ...] = ("answered", "refused", "error", "rate_limited")
ALL_SETS = "*"  # asked where every document set is searchable (no conversation rule applied)


@dataclass
class QuestionRecord:
    id: str  # random hex; also the key a posted message is attached by
    asked_at: float  # Unix time
    platform: str  # "slack", "discord"
    channel: str  # the conversation's channel id ("" when unknown)
    user: str  # the platform's user id with store_user_ids, else "h:" + a salted hash of it
    question: str  # as asked
    standalone: str  # the follow-up rewritten to stand alone (== question for a first question)
    outcome: str  # one of OUTCOMES
    top_score: float | None = None  # the best source's score (None: nothing retrieved)
    cited: list[str] = field(default_factory=list)  # URLs shown with the reply
    latency_ms: float = 0.0
    answer: str = ""  # the reply text (for the admin page's "recent 👎")
    sets: list[str] = field(default_factory=list)  # the document sets the conversation could search
    restricted: bool = False  # sets beyond [access] default: shown to admins only
    message_id: str | None = None  # the posted answer's id (platform-specific), once attached
    votes_up: int = 0
    votes_down: int = 0
    escalated: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QuestionRecord:
        """From a stored payload (unknown keys, e.g. a point's ``kind``, are ignored)."""
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        record = cls(**known)
        record.cited = list(record.cited or [])
        record.sets = list(record.sets or [])
        return record

    def visible_to(self, sets: frozenset[str] | None) -> bool:
        """Whether a view limited to ``sets`` may show this question (None: an admin sees all).

        A question is shown only where everything its conversation could read is readable too,
        so a digest in a public channel never quotes what was asked in the HR channel."""
        return sets is None or (ALL_SETS not in self.sets and set(self.sets) <= set(sets))
