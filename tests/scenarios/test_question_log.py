"""The question log: what Slack and Discord questions leave behind in the chat state ([insights]).

Questions go through the real Bolt app and discord.py client against the fake platforms, the real
core and the real chat state (SQLite here; the same calls on Qdrant are in the contract below).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from bot.app.build import chat_service
from bot.chatstate import ChatState, QuestionRecord, SqliteChatState
from bot.chatstate.qdrant import QdrantChatState
from bot.config import AccessConfig, InsightsConfig, StoreConfig
from bot.core import RagCore
from bot.insights.log import DAY_S, QuestionLog
from tests.support.discord_bot import DiscordBot
from tests.support.fake_discord import CHANNEL_ID
from tests.support.fake_qdrant import running_fake_qdrant
from tests.support.fakeserver import LoopThread
from tests.support.slack_bot import SlackBot, answer_for, answered_after, mention


def service_with(core: RagCore, state: ChatState, **insights: object):  # type: ignore[no-untyped-def]
    """A chat service over the shared index, with these [insights] settings."""
    settings = core.settings.model_copy(update={"insights": InsightsConfig(**insights)})
    return chat_service(RagCore(settings, store=core.store, embedder=core.embedder), state)


@pytest.fixture()
def slack(loop: LoopThread, core: RagCore, tmp_path: Path) -> Iterator[SlackBot]:
    bot = SlackBot(loop, service_with(core, SqliteChatState(tmp_path / "state")))
    yield bot
    bot.close()


def logged(state: ChatState, count: int, attached: bool = False) -> list[QuestionRecord]:
    """The log once it holds ``count`` questions (they are written as the replies go out);
    ``attached``: and each record has its reply's message id (attached once the reply is posted)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        records = state.questions()
        if len(records) >= count and (not attached or all(r.message_id for r in records)):
            return records
        time.sleep(0.05)
    raise AssertionError(f"expected {count} logged questions, have {state.questions()}")


def test_each_slack_outcome_is_logged_with_what_the_admin_needs(slack: SlackBot) -> None:
    answered = mention("how do I roll back a bad deploy?", user="UA")
    refused = mention("how do I configure the espresso machine", user="UA")
    failed = mention("why " * 1200, user="UB")  # over limits.max_question_chars
    slack.event(answered)
    update = answer_for(slack, answered)
    slack.event(refused)
    answer_for(slack, refused)
    slack.event(failed)
    answer_for(slack, failed)
    for i in range(4):  # the test config allows 3 questions a minute per user
        slack.event(mention(f"what are core hours, take {i}", user="URATE", channel="C2"))

    records = logged(slack.service.state, 7)

    by_outcome: dict[str, QuestionRecord] = {}
    for r in records:
        by_outcome.setdefault(r.outcome, r)
    assert [r.outcome for r in records].count("rate_limited") == 1
    assert set(by_outcome) == {"answered", "refused", "error", "rate_limited"}
    ok = by_outcome["answered"]
    assert (ok.platform, ok.channel, ok.question) == ("slack", "C1", "how do I roll back a bad deploy?")
    assert ok.cited and ok.cited[0].startswith("https://handbook.acme.example/deploys.md")
    assert ok.top_score is not None and ok.top_score > 0.4 and ok.latency_ms > 0 and "Rollback" in ok.answer
    assert ok.sets == ["public"] and not ok.restricted
    no = by_outcome["refused"]
    assert no.answer.startswith("I couldn't find this") and no.top_score is not None and no.top_score < ok.top_score
    assert by_outcome["error"].cited == [] and by_outcome["rate_limited"].channel == "C2"
    # The answer's message is attached, so a vote on it reaches its question.
    assert ok.message_id == f"C1:{update['ts']}"


def test_a_vote_and_an_escalation_reach_the_question(slack: SlackBot) -> None:
    event = mention("how much is the on call stipend", user="U5")
    slack.event(event)
    update = answer_for(slack, event)
    assert slack.click(update, update["ts"], "ragbot_feedback_down") == 200
    slack.fake.wait_for(lambda: slack.service.state.feedback())
    escalated = slack.service.escalate("slack", f"C1:{update['ts']}")

    (record,) = slack.service.state.questions()
    assert (record.votes_up, record.votes_down, record.escalated, escalated) == (0, 1, True, True)
    assert slack.service.escalate("slack", "C1:1.000") is False  # an answer nobody logged


def test_user_ids_are_hashed_with_a_salt_unless_asked_to_keep_them(
    loop: LoopThread, core: RagCore, tmp_path: Path
) -> None:
    hashed = SlackBot(loop, service_with(core, SqliteChatState(tmp_path / "hashed")))
    kept = SlackBot(loop, service_with(core, SqliteChatState(tmp_path / "kept"), store_user_ids=True))
    try:
        for bot in (hashed, kept):
            for user in ("UALICE", "UALICE", "UBOB"):
                event = mention("where do I find the vpn setup", user=user)
                bot.event(event)
                answer_for(bot, event)
        hashed_users = [r.user for r in logged(hashed.service.state, 3)]
        kept_users = [r.user for r in logged(kept.service.state, 3)]
    finally:
        hashed.close()
        kept.close()

    assert kept_users == ["UALICE", "UALICE", "UBOB"]
    assert all(u.startswith("h:") and "UALICE" not in u and "UBOB" not in u for u in hashed_users)
    assert hashed_users[0] == hashed_users[1] != hashed_users[2]  # distinct askers still countable
    salt = (tmp_path / "hashed" / "insights.salt").read_text().strip()
    assert len(salt) == 64 and (tmp_path / "hashed" / "insights.salt").stat().st_mode & 0o077 == 0
    assert salt not in (tmp_path / "hashed" / "chat.sqlite3").read_bytes().decode("utf-8", "replace")


def test_enabled_false_stores_no_question(loop: LoopThread, core: RagCore, tmp_path: Path) -> None:
    bot = SlackBot(loop, service_with(core, SqliteChatState(tmp_path / "off"), enabled=False))
    try:
        event = mention("how do I roll back a bad deploy?")
        bot.event(event)
        update = answer_for(bot, event)
        answered_after(bot, "U-LATER")  # events are handled in order: any record is written by now
        questions = bot.service.state.questions()
    finally:
        bot.close()
    assert "Rollback" in update["text"]
    assert questions == [] and not (tmp_path / "off" / "insights.salt").exists()


def test_discord_questions_are_logged_by_the_same_core(loop: LoopThread, core: RagCore, tmp_path: Path) -> None:
    bot = DiscordBot(loop, service_with(core, SqliteChatState(tmp_path / "discord")))
    try:
        interaction = bot.fake.interaction("ask", 4001, {"question": "how many vacation days do we get?"})
        bot.send("INTERACTION_CREATE", interaction)
        bot.fake.wait_for(lambda: bot.followups(interaction["token"]))
        (record,) = logged(bot.service.state, 1, attached=True)
        posted = bot.fake.bot_messages(CHANNEL_ID)[-1]
    finally:
        bot.close()
    assert (record.platform, record.channel, record.outcome) == ("discord", str(CHANNEL_ID), "answered")
    assert record.user.startswith("h:") and record.message_id == str(posted["id"])


# -- the same log on both chat state engines -----------------------------------------------------
@pytest.fixture(params=["sqlite", "qdrant", "qdrant-server"])
def states(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[ChatState, ChatState]]:
    """Two replicas' views of one shared state: SQLite, qdrant-client's local mode, and a Qdrant
    server over HTTP (tests/support/fake_qdrant.py: qdrant-client's engine behind Qdrant's REST API)."""
    if request.param == "sqlite":
        a, b = SqliteChatState(tmp_path), SqliteChatState(tmp_path)
        yield a, b
        a.close()
        b.close()
        return
    if request.param == "qdrant-server":
        with running_fake_qdrant() as fake:
            config = StoreConfig(url=fake.url)
            a, b = QdrantChatState.connect(config, "ragbot_chat"), QdrantChatState.connect(config, "ragbot_chat")
            yield a, b
            a.close()
            b.close()
        return
    client = QdrantClient(path=str(tmp_path / "qdrant"))
    yield QdrantChatState(client, "ragbot_chat", server=False), QdrantChatState(client, "ragbot_chat", server=False)
    client.close()


def record(question: str, days_ago: float, **fields: object) -> QuestionRecord:
    defaults: dict[str, object] = {"platform": "slack", "channel": "C1", "user": "h:1", "outcome": "refused"}
    return QuestionRecord(
        id=f"q{abs(hash((question, days_ago)))}",
        asked_at=time.time() - days_ago * DAY_S,
        question=question,
        standalone=question,
        **{**defaults, **fields},  # type: ignore[arg-type]
    )


def test_the_log_is_one_contract_on_sqlite_and_qdrant(states: tuple[ChatState, ChatState]) -> None:
    a, b = states
    a.log_question(record("old one", days_ago=120))
    a.log_question(record("recent one", days_ago=2, sets=["public", "hr"], restricted=True))
    fresh = record("today", days_ago=0, outcome="answered")
    b.log_question(fresh)
    b.attach_question(fresh.id, "slack", "C1:9.1")
    a.remember_answer("slack", "C1:9.1", "today", "yes [1]", ["https://h/a"])
    a.vote("slack", "C1:9.1", "U1", "up")
    b.vote("slack", "C1:9.1", "U2", "down")
    b.vote("slack", "C1:9.1", "U3", "down")

    assert a.tally_question_votes("slack", "C1:9.1") and b.escalate_question("slack", "C1:9.1")
    assert not a.tally_question_votes("slack", "C1:nothing")
    assert [r.question for r in b.questions()] == ["old one", "recent one", "today"]
    assert [r.question for r in a.questions(since=time.time() - 30 * DAY_S)] == ["recent one", "today"]
    today = b.questions()[-1]
    assert (today.message_id, today.votes_up, today.votes_down, today.escalated) == ("C1:9.1", 1, 2, True)
    assert b.questions()[1].sets == ["public", "hr"] and b.questions()[1].restricted
    assert a.insights_salt() == b.insights_salt() and len(a.insights_salt()) == 32

    log = QuestionLog(a, InsightsConfig(retention_days=90), AccessConfig())
    assert log.prune() == 1
    assert [r.question for r in b.questions()] == ["recent one", "today"]
    assert QuestionLog(b, InsightsConfig(retention_days=1), AccessConfig()).prune() == 1
    assert [r.question for r in a.questions()] == ["today"]


def test_restricted_questions_are_seen_only_by_views_that_may_read_their_sets() -> None:
    public = record("q1", 0, sets=["public"])
    hr = record("q2", 0, sets=["hr", "public"], restricted=True)
    everything = record("q3", 0, sets=["*"], restricted=True)

    assert [r.visible_to(None) for r in (public, hr, everything)] == [True, True, True]  # admins
    assert [r.visible_to(frozenset({"public"})) for r in (public, hr, everything)] == [True, False, False]
    assert [r.visible_to(frozenset({"public", "hr"})) for r in (public, hr, everything)] == [True, True, False]


def test_a_token_pasted_into_a_question_is_not_kept(tmp_path: Path) -> None:
    from bot.access import Conversation

    state = SqliteChatState(tmp_path)
    log = QuestionLog(state, InsightsConfig(), AccessConfig())
    log.record(
        conversation=Conversation("slack", channel="C1"),
        user_id="U1",
        question="why does xoxb-1234567890-abcdefghij fail?",
        standalone="why does xoxb-1234567890-abcdefghij fail?",
        outcome="refused",
        sets=["public"],
    )
    (record,) = state.questions()
    state.close()
    assert "xoxb-1234567890" not in record.question + record.standalone and "[redacted]" in record.question
