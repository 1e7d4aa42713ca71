"""Streamed answers: a model's answer shows up while it is written (Slack chat.update, Discord edits),
at most one edit per chat.stream_interval_s, and the final answer lands last.

The model is the openai backend talking to a fake LLM server that streams server-sent events.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app.settings import load_settings
from bot.chat import ChatService
from bot.chatstate import SqliteChatState
from bot.core import RagCore
from bot.streaming import CURSOR
from tests.support.discord_bot import DiscordBot
from tests.support.fake_discord import BOT_ID, CHANNEL_ID, user
from tests.support.fake_llm import FakeLLM
from tests.support.fakeserver import LoopThread
from tests.support.slack_bot import SlackBot, mention, placeholder_for, posted_ts

PIECES = ["You get ", "28 days ", "of vacation ", "a year, ", "plus the ", "public holidays ", "of your country [1]."]
FINAL = "You get 28 days of vacation a year, plus the public holidays of your country [1]."
INTERVAL_S = 0.3
PIECE_DELAY_S = 0.15


def streaming_core(loop: LoopThread, config: Path, fake: FakeLLM, stream: bool = True) -> RagCore:
    settings = load_settings(config)
    settings.generator.backend = "openai"
    settings.generator.base_url = loop.run(fake.start()) + "/v1"
    settings.chat.stream = stream
    settings.chat.stream_interval_s = INTERVAL_S
    return RagCore(settings)


@pytest.fixture()
def llm(loop: LoopThread) -> Iterator[FakeLLM]:
    fake = FakeLLM(pieces=PIECES, delay_s=PIECE_DELAY_S)
    yield fake
    loop.run(fake.stop())


@pytest.fixture()
def rag(loop: LoopThread, indexed_config: Path, llm: FakeLLM) -> Iterator[RagCore]:
    core = streaming_core(loop, indexed_config, llm)
    yield core
    core.close()


def assert_throttled(times: list[float]) -> None:
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    assert all(gap >= INTERVAL_S * 0.9 for gap in gaps), gaps


def assert_growing_partials(texts: list[str]) -> None:
    assert len(texts) >= 2, texts
    assert len(texts) < len(PIECES), "one edit per piece: the updates were not throttled"
    for text in texts:
        assert text.endswith(CURSOR) and FINAL.startswith(text.removesuffix(CURSOR)), text
    assert [len(t) for t in texts] == sorted(len(t) for t in texts)


def test_slack_shows_the_answer_while_it_is_written(loop: LoopThread, rag: RagCore, tmp_path: Path) -> None:
    slack = SlackBot(loop, ChatService(rag, SqliteChatState(tmp_path / "state")))
    try:
        event = mention("how many vacation days do we get?")
        slack.event(event)
        ts = posted_ts(slack, placeholder_for(slack, event["ts"]))
        fake = slack.fake

        def updates() -> list[tuple[float, dict]]:
            with fake._lock:
                return [
                    (at, params)
                    for (name, params), at in zip(fake.calls, fake.call_times)
                    if name == "chat.update" and params["ts"] == ts
                ]

        final = fake.wait_for(lambda: [u for u in updates() if "blocks" in u[1] and u[1]["blocks"]])
    finally:
        slack.close()
    everything = updates()
    assert everything[-1] == final[0], "the final answer is the last edit"
    partials = everything[:-1]
    assert_growing_partials([params["text"] for _, params in partials])
    assert_throttled([at for at, _ in partials])
    assert final[0][1]["text"] == FINAL and "ragbot_feedback_up" in json.dumps(final[0][1]["blocks"])


def test_discord_slash_command_edits_its_reply_while_it_is_written(
    loop: LoopThread, rag: RagCore, tmp_path: Path
) -> None:
    discord_bot = DiscordBot(loop, ChatService(rag, SqliteChatState(tmp_path / "state")))
    try:
        fake = discord_bot.fake
        interaction = fake.interaction("ask", 4001, {"question": "how many vacation days do we get?"})
        discord_bot.send("INTERACTION_CREATE", interaction)
        fake.wait_for(lambda: any(body.get("components") for _, _, body in fake.edits))
    finally:
        discord_bot.close()
    original = fake.originals[interaction["token"]]
    edits = [(at, body) for message_id, at, body in fake.edits if message_id == int(original["id"])]
    *partials, (_, final) = edits
    assert_growing_partials([body["content"] for _, body in partials])
    assert_throttled([at for at, _ in partials])
    assert final["content"] == FINAL and final["embeds"][0]["title"] == "Sources"
    assert "ragbot:feedback:up" in json.dumps(final["components"])
    assert discord_bot.followups(interaction["token"]) == [], "the edited reply is the answer: no second message"


def test_discord_mention_posts_once_then_edits(loop: LoopThread, rag: RagCore, tmp_path: Path) -> None:
    discord_bot = DiscordBot(loop, ChatService(rag, SqliteChatState(tmp_path / "state")))
    try:
        fake = discord_bot.fake
        question = fake.message(CHANNEL_ID, user(4002, "bob"), f"<@{BOT_ID}> how many vacation days do we get?")
        discord_bot.send("MESSAGE_CREATE", question)
        thread_id = int(question["id"])
        fake.wait_for(lambda: any(m["components"] for m in fake.bot_messages(thread_id)))
    finally:
        discord_bot.close()
    (answer,) = fake.bot_messages(thread_id)
    assert answer["content"] == FINAL and answer["embeds"][0]["title"] == "Sources"
    edits = [body for message_id, _, body in fake.edits if message_id == int(answer["id"])]
    assert edits and all(body["content"].endswith(CURSOR) for body in edits[:-1])


def test_streaming_can_be_turned_off(loop: LoopThread, indexed_config: Path, llm: FakeLLM, tmp_path: Path) -> None:
    core = streaming_core(loop, indexed_config, llm, stream=False)
    slack = SlackBot(loop, ChatService(core, SqliteChatState(tmp_path / "state")))
    try:
        event = mention("how many vacation days do we get?")
        slack.event(event)
        ts = posted_ts(slack, placeholder_for(slack, event["ts"]))
        (update,) = slack.fake.wait_for(lambda: [u for u in slack.fake.calls_to("chat.update") if u["ts"] == ts])
    finally:
        slack.close()
        core.close()
    assert update["text"] == FINAL and update["blocks"]
    assert llm.requests[0]["stream"] is True  # the generator still streams; only the chat edits are off
