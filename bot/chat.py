"""What every chat adapter needs around the core, written once: rate limits, de-duplication,
follow-up rewriting, timeouts, friendly errors, feedback, the question log, admin reindex and status.

Adapters translate platform events into these calls and the replies into platform messages.
Reindex and status go through an :class:`~bot.admin.AdminOps` that the composition root hands
in (the core never imports the indexer); without one, those commands say they are unavailable.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Literal

from bot import metrics
from bot.access import Conversation, describe_sets, sets_for
from bot.admin import AdminOps, RunRecord, Status
from bot.channels import Behaviour, behaviour_for
from bot.chatstate import ChatState, FeedbackRecord, open_chat_state
from bot.config import Settings
from bot.conversation import Turn, standalone_question
from bot.core import RagCore
from bot.errors import (
    ConfigError,
    IndexEmpty,
    InputError,
    RagbotError,
    StoreMismatch,
    StoreUnavailable,
)
from bot.handoff import HandOff
from bot.insights.log import QuestionLog
from bot.logs import new_request_id, redact
from bot.models import Answer
from bot.ratelimit import RateLimiter
from bot.streaming import PartialSink, PartialUpdates

__all__ = ["ChatService", "ChatReply", "ReindexSummary", "UNREACHABLE_TEXT", "NO_ADMIN_TEXT", "status_lines"]

log = logging.getLogger(__name__)

EMPTY_QUESTION = "Ask me a question about the docs, for example: how do I roll back a deploy?"
UNREACHABLE_TEXT = (
    "Sorry, the docs index is unreachable right now, so I can't answer. "
    "Try again in a few minutes; tell an admin if it persists."
)


@dataclass(frozen=True)
class ChatReply:
    kind: Literal["answer", "busy", "error"]
    text: str  # the answer text, or the message to show instead
    answer: Answer | None = None
    question: str = ""  # the standalone question that was answered
    question_id: str | None = None  # its record in the question log ([insights]), if one was kept


@dataclass(frozen=True)
class ReindexSummary:
    """The outcome of a chat reindex, split by who may see it.

    ``channel`` is for the conversation that asked: it names only sources whose documents that
    conversation may read (None: post nothing there). ``private`` is for the admin who asked
    only (ephemeral, or a DM): the full report, or why the run did not start (None: nothing more)."""

    channel: str | None
    private: str | None = None


NO_ADMIN_TEXT = "This bot process can't run admin commands (it was started without them)."


class ChatService:
    def __init__(self, core: RagCore, state: ChatState | None = None, *, admin: AdminOps | None = None) -> None:
        self.core = core
        self.settings: Settings = core.settings
        self.state = state or open_chat_state(self.settings, core.store)
        self.admin = admin
        chat = self.settings.chat
        self.limiter = RateLimiter(chat.user_questions_per_minute, chat.questions_per_minute)
        self.questions = QuestionLog(self.state, self.settings.insights, self.settings.access)
        self.handoff = HandOff(chat.escalation)  # "Ask a person": target and per-user limit

    @property
    def history_messages(self) -> int:
        """How many earlier messages of a thread adapters pass along (``chat.history_messages``)."""
        return self.settings.chat.history_messages

    def first_time(self, event_id: str | None) -> bool:
        return True if not event_id else self.state.first_time(event_id)

    async def answer(
        self,
        user_id: str,
        question: str,
        history: list[Turn] | None = None,
        sets: Collection[str] | None = None,
        on_partial: PartialSink | None = None,
        *,
        conversation: Conversation | None = None,
    ) -> ChatReply:
        """Answer for one chat user; ``sets`` are the document sets the conversation may search.

        ``on_partial`` shows a streaming generator's answer while it is written (throttled to
        ``chat.stream_interval_s``); it is never called after this returns. ``conversation`` says
        where it was asked, for the question log: every outcome is recorded there, here."""
        rid = new_request_id()  # on every log line about this question, and on error replies
        started = time.perf_counter()
        question = " ".join(question.split())
        if not question:
            return ChatReply("error", EMPTY_QUESTION)
        logged = functools.partial(
            self._logged, conversation=conversation, user_id=user_id, question=question, sets=sets, started=started
        )
        wait = self.limiter.check(user_id)
        if wait is not None:
            metrics.QUESTIONS.labels("rate_limited").inc()
            busy = f"I'm answering a lot of questions right now; please try again in {wait} s."
            return await logged(ChatReply("busy", busy), "rate_limited", standalone=question)
        standalone = standalone_question(history or [], question)
        log.info("question from %s (%d chars)", user_id, len(standalone))
        chat = self.settings.chat
        timeout = chat.answer_timeout_s
        updates = PartialUpdates(on_partial, chat.stream_interval_s) if on_partial and chat.stream else None
        ask = functools.partial(self.core.ask, standalone, sets=sets, on_partial=updates.push if updates else None)
        try:
            answer = await asyncio.wait_for(asyncio.to_thread(ask), timeout)
        except TimeoutError:
            metrics.QUESTIONS.labels("error").inc()
            metrics.ERRORS.labels("timeout").inc()
            log.warning("answer timed out after %.0f s", timeout)
            slow = f"Sorry, that took longer than {timeout:.0f} s. Try a more specific question. (ref {rid})"
            return await logged(ChatReply("error", slow), "error", standalone=standalone)
        except Exception as exc:  # every failure ends in a message to the user, never silence
            metrics.QUESTIONS.labels("error").inc()
            metrics.ERRORS.labels(type(exc).__name__).inc()
            failed = ChatReply("error", redact(f"{self.explain(exc)} (ref {rid})"))
            return await logged(failed, "error", standalone=standalone)
        finally:
            if updates is not None:
                await updates.close()
        outcome = "answered" if answer.answered else "refused"
        metrics.QUESTIONS.labels(outcome).inc()
        answer = _redacted(answer)
        return await logged(ChatReply("answer", answer.text, answer, standalone), outcome, standalone=standalone)

    async def _logged(
        self,
        reply: ChatReply,
        outcome: str,
        *,
        conversation: Conversation | None,
        user_id: str,
        question: str,
        standalone: str,
        sets: Collection[str] | None,
        started: float,
    ) -> ChatReply:
        """``reply``, with the question's record in the question log (if ``[insights]`` keeps one)."""
        if not self.questions.enabled:
            return reply
        record = functools.partial(
            self.questions.record,
            conversation=conversation,
            user_id=user_id,
            question=question,
            standalone=standalone,
            outcome=outcome,
            sets=sets,
            latency_ms=(time.perf_counter() - started) * 1000,
            answer=reply.answer,
        )
        return replace(reply, question_id=await asyncio.to_thread(record))

    def vote(self, platform: str, message_id: str, user_id: str, vote: str) -> FeedbackRecord | None:
        """Store a 👍/👎 on a posted answer (one per user and answer); None if the answer is unknown
        or the vote can't be stored now (the chat state is unreachable: logged, not raised)."""
        try:
            record = self.state.vote(platform, message_id, user_id, vote)
        except Exception as exc:
            log.warning("could not store a vote on %s:%s: %s", platform, message_id, exc)
            return None
        if record is not None:
            metrics.FEEDBACK_VOTES.labels(vote).inc()
            self.questions.voted(platform, message_id)
        return record

    def escalate(self, platform: str, message_id: str) -> bool:
        """Note that the answer posted as ``message_id`` was handed to a person (the question log's
        ``escalated``, which makes its question a coverage gap); False if that answer is unknown."""
        return self.questions.escalated(platform, message_id)

    def explain(self, exc: Exception) -> str:
        """The chat reply for a failure, chosen by the error's type (never its text)."""
        if isinstance(exc, IndexEmpty):
            return "I can't answer yet: the docs index is empty. An admin can fill it with the reindex command."
        if isinstance(exc, InputError):
            return f"Sorry, I can't use that question: {exc}."
        if isinstance(exc, StoreUnavailable):
            log.warning("store unavailable: %s", exc)
            return UNREACHABLE_TEXT
        if isinstance(exc, StoreMismatch | ConfigError):
            log.error("configuration problem: %s", exc)
            return "Sorry, I'm misconfigured and can't answer. An admin can see the details in my logs."
        if isinstance(exc, RagbotError):
            log.error("answer failed: %s", exc)
            return "Sorry, something went wrong while answering. An admin can see the details in my logs."
        log.exception("unexpected failure while answering", exc_info=exc)
        return "Sorry, something went wrong while answering. An admin can see the details in my logs."

    def remember(self, platform: str, message_id: str, reply: ChatReply) -> None:
        """Keep a posted answer for feedback; losing it (chat state unreachable) only costs its votes."""
        if reply.answer is None:
            return
        sources = [c.url for c in reply.answer.citations]
        try:
            self.state.remember_answer(platform, message_id, reply.question, reply.answer.text, sources)
        except Exception as exc:
            log.warning("could not remember answer %s:%s for feedback: %s", platform, message_id, exc)
        self.questions.attach(reply.question_id, platform, message_id)

    async def reindex(self, source: str | None, sets: Collection[str] | None = None) -> ReindexSummary:
        """Run one indexing pass (all sources, or one) and describe it in a line per source.

        With ``sets`` (the document sets of the conversation that asked), the channel version
        names only sources whose documents that conversation may read; the rest, and any reason
        the run did not start, go to the admin privately. Never raises: a chat command always
        gets an answer."""
        if self.admin is None:
            return ReindexSummary(None, NO_ADMIN_TEXT)
        rid = new_request_id()
        try:
            reports = await asyncio.to_thread(self.admin.reindex, source)
        except RagbotError as exc:  # unknown source, already running, store down: the admin can act on it
            log.warning("reindex not started: %s", exc)
            return ReindexSummary(None, redact(f"Reindex not started: {exc}"))
        except Exception as exc:
            log.exception("reindex failed unexpectedly (ref %s)", rid, exc_info=exc)
            return ReindexSummary(
                None,
                f"Reindex failed: an unexpected {type(exc).__name__}. The details are in the bot's logs "
                f"(ref {rid}); `ragbot index` on the server shows the error too.",
            )
        readable = {s.name for s in self.settings.sources if sets is None or set(s.sets) & set(sets)}
        full = _report_lines(reports)
        shown = [r for r in reports if r.name in readable]
        if len(shown) == len(reports):
            return ReindexSummary(redact(full))
        hidden = len(reports) - len(shown)
        channel = _report_lines(shown) if shown else "Nothing this channel can read was reindexed."
        channel += f"\n({hidden} more source(s) this channel can't read: details sent to the admin who asked.)"
        return ReindexSummary(redact(channel), redact(full))

    def sets_for(self, conversation: Conversation) -> frozenset[str]:
        return sets_for(self.settings.access, conversation)

    def behaviour(self, conversation: Conversation) -> Behaviour:
        """The conversation's ``[[channels]]`` mode (mention, auto, off) and manners."""
        return behaviour_for(self.settings.channels, conversation)

    def sets_text(self, conversation: Conversation) -> str:
        return f"This conversation can search: {describe_sets(self.sets_for(conversation))}."

    async def train(self) -> str:
        """Train the query encoder for a chat admin: the run's summary, or why it did not run.
        Never raises (a chat command always gets an answer)."""
        if self.admin is None:
            return NO_ADMIN_TEXT
        try:
            return redact(await asyncio.to_thread(self.admin.train))
        except RagbotError as exc:
            log.warning("training not started: %s", exc)
            return redact(f"Training did not run: {exc}")
        except Exception as exc:
            rid = new_request_id()
            log.exception("training failed unexpectedly (ref %s)", rid, exc_info=exc)
            kind = type(exc).__name__
            return f"Training failed: an unexpected {kind}; the details are in the bot's logs (ref {rid})."

    def status_text(self) -> str:
        """What is indexed, per source, for admins; never raises (a chat command always gets an answer)."""
        if self.admin is None:
            return NO_ADMIN_TEXT
        try:
            return redact(status_lines(self.admin.status()))
        except StoreUnavailable as exc:
            log.warning("status: %s", exc)
            return f"Status unavailable: {UNREACHABLE_TEXT}"
        except RagbotError as exc:
            return redact(f"Status unavailable: {exc}")
        except Exception as exc:
            rid = new_request_id()
            log.exception("status failed unexpectedly (ref %s)", rid, exc_info=exc)
            kind = type(exc).__name__
            return f"Status unavailable: an unexpected {kind}; the details are in the bot's logs (ref {rid})."


def status_lines(status: Status) -> str:
    """The status report as chat shows it (Slack and Discord alike)."""
    lines = [f"Store: {status.store_backend}, {status.chunks} chunks. Model: {status.embedding_model}."]
    for source in status.sources:
        last = source.last_run
        when = f"{last.finished_at} ({last.status or 'ok'})" if last else "never"
        error = f" Last error: {source.last_error}" if source.last_error else ""
        lines.append(f"{source.name} ({source.type}): {source.chunks} chunks, last run {when}.{error}")
    lines.append(f"Feedback: {status.feedback['up']} helpful, {status.feedback['down']} not helpful.")
    return "\n".join(lines)


def _report_lines(reports: list[RunRecord]) -> str:
    lines = []
    for r in reports:
        lines.append(r.summary())
        lines.extend(f"  {error}" for error in r.errors[:5])
    return "\n".join(lines)


def _redacted(answer: Answer) -> Answer:
    """The answer with secrets masked in everything that is posted (text, titles, snippets, links)."""
    citations = [
        replace(c, title=redact(c.title), url=redact(c.url), snippet=redact(c.snippet)) for c in answer.citations
    ]
    return replace(answer, text=redact(answer.text), citations=citations)
