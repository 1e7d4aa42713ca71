"""What chat adapters remember between events: seen event ids, posted answers, feedback votes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["ChatState", "FeedbackRecord", "SEEN_TTL_S"]

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

    def close(self) -> None: ...
