"""The question log as the chat writes it: one record per question, then its message, votes and
escalation. :class:`bot.chat.ChatService` is the only writer, so Slack, Discord and anything
else that answers through it are logged the same way.

Logging never costs an answer: a chat state that can't be written (Qdrant down, disk full) is
a warning in the log, and the reply goes out as ever. ``[insights] enabled = false`` stores
nothing at all.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
import uuid
from collections.abc import Collection

from bot.access import Conversation
from bot.chatstate import ChatState
from bot.chatstate.questions import ALL_SETS, QuestionRecord
from bot.config import AccessConfig, InsightsConfig
from bot.logs import redact
from bot.models import Answer

__all__ = ["QuestionLog", "DAY_S"]

log = logging.getLogger(__name__)

DAY_S = 86400.0
_ANSWER_CHARS = 4000  # what the admin page shows of an answer; a log is not an archive


class QuestionLog:
    def __init__(self, state: ChatState, config: InsightsConfig, access: AccessConfig) -> None:
        self.state = state
        self.config = config
        self.access = access
        self._salt: bytes | None = None
        self._salt_lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    def user_key(self, platform: str, user_id: str) -> str:
        """The id as given with ``store_user_ids``; otherwise a salted hash, enough to count distinct
        askers and never reversible without the salt (kept by the chat state, not in the log)."""
        if self.config.store_user_ids:
            return user_id
        with self._salt_lock:
            if self._salt is None:
                self._salt = self.state.insights_salt()
        digest = hmac.new(self._salt, f"{platform}:{user_id}".encode(), hashlib.sha256).hexdigest()
        return "h:" + digest[:20]

    def record(
        self,
        *,
        conversation: Conversation | None,
        user_id: str,
        question: str,
        standalone: str,
        outcome: str,
        sets: Collection[str] | None,
        latency_ms: float = 0.0,
        answer: Answer | None = None,
    ) -> str | None:
        """Store one question; its id (to attach the posted message to), or None if nothing was stored."""
        if not self.config.enabled:
            return None
        platform = conversation.platform if conversation else "unknown"
        searchable = sorted(sets) if sets is not None else [ALL_SETS]
        citations = answer.citations if answer is not None else []
        record = QuestionRecord(
            id=uuid.uuid4().hex,
            asked_at=time.time(),
            platform=platform,
            channel=(conversation.channel if conversation else None) or "",
            user="",
            question=redact(question),  # a pasted token must not reach the admin page or a digest
            standalone=redact(standalone),
            outcome=outcome,
            top_score=round(max(c.score for c in citations), 4) if citations else None,
            cited=[c.url for c in citations],
            latency_ms=round(latency_ms, 1),
            answer=(answer.text[:_ANSWER_CHARS] if answer is not None else ""),
            sets=searchable,
            restricted=sets is None or bool(set(searchable) - set(self.access.default)),
        )
        try:
            record.user = self.user_key(platform, user_id)
            self.state.log_question(record)
        except Exception as exc:  # the answer still goes out; only this question's record is lost
            log.warning("could not log a question: %s", exc)
            return None
        return record.id

    def attach(self, question_id: str | None, platform: str, message_id: str) -> None:
        if question_id is None or not self.config.enabled:
            return
        try:
            self.state.attach_question(question_id, platform, message_id)
        except Exception as exc:
            log.warning("could not attach message %s:%s to its question: %s", platform, message_id, exc)

    def voted(self, platform: str, message_id: str) -> None:
        """A vote on ``message_id`` was stored: its question's 👍/👎 counts follow."""
        if not self.config.enabled:
            return
        try:
            self.state.tally_question_votes(platform, message_id)
        except Exception as exc:
            log.warning("could not count votes on %s:%s for its question: %s", platform, message_id, exc)

    def escalated(self, platform: str, message_id: str) -> bool:
        if not self.config.enabled:
            return False
        try:
            return self.state.escalate_question(platform, message_id)
        except Exception as exc:
            log.warning("could not mark %s:%s escalated: %s", platform, message_id, exc)
            return False

    def prune(self, now: float | None = None) -> int:
        """Delete what is older than ``retention_days``; how many questions went."""
        cutoff = (now if now is not None else time.time()) - self.config.retention_days * DAY_S
        removed = self.state.prune_questions(cutoff)
        if removed:
            log.info("question log: pruned %d question(s) older than %d days", removed, self.config.retention_days)
        return removed
