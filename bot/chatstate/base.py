"""What chat adapters remember between events: seen event ids, posted answers, feedback votes,
and the question log (``bot/chatstate/questions.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.chatstate.questions import QuestionRecord

__all__ = ["ChatState", "FeedbackRecord", "QuestionRecord", "SEEN_TTL_S"]

SEEN_TTL_S = 24 * 3600  # Slack retries within minutes; a day covers any redelivery


@dataclass(frozen=True)
class FeedbackRecord:
    platform: str
    message_id: str
    user_id: str
    vote: str
    question: str
    answer: str
    sources: list[str]


class ChatState(Protocol):
    def first_time(self, event_id: str) -> bool:
        """True exactly once per event id, across every replica sharing this state."""

    def remember_answer(self, platform: str, message_id: str, question: str, answer: str, sources: list[str]) -> None:
        """Keep what a posted answer said, so a later vote on it can be stored with it."""

    def vote(self, platform: str, message_id: str, user_id: str, vote: str) -> FeedbackRecord | None:
        """Store a vote on a remembered answer (one per user; a second click changes it); None if unknown."""

    def feedback_counts(self) -> dict[str, int]: ...

    def feedback(self) -> list[FeedbackRecord]: ...

    # -- the question log ([insights]) ---------------------------------------------------
    def log_question(self, record: QuestionRecord) -> None:
        """Store one asked question (its id is new)."""

    def attach_question(self, question_id: str, platform: str, message_id: str) -> None:
        """Link a logged question to the message that posted its answer (votes arrive by message)."""

    def tally_question_votes(self, platform: str, message_id: str) -> bool:
        """Copy the message's current 👍/👎 counts onto its question; False if no question has it."""

    def escalate_question(self, platform: str, message_id: str) -> bool:
        """Mark the question answered by that message as escalated; False if no question has it."""

    def questions(self, since: float | None = None) -> list[QuestionRecord]:
        """Logged questions asked at or after ``since`` (Unix time; None: all), oldest first."""

    def prune_questions(self, before: float) -> int:
        """Delete questions asked before ``before``; how many were deleted."""

    def insights_salt(self) -> bytes:
        """The secret salt user ids are hashed with; made once, then the same for every replica."""

    def close(self) -> None: ...
