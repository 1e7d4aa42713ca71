"""Discord scenarios: the real discord.py client against a fake Discord (REST + gateway) on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app.build import chat_service
from bot.app.settings import load_settings
from bot.chatstate import SqliteChatState
from bot.core import RagCore
from tests.support.discord_bot import DiscordBot, final_answer, open_thread, text_of
from tests.support.fake_discord import ADMIN_ROLE_ID, BOT_ID, CHANNEL_ID, GUILD_ID, user
from tests.support.fakeserver import LoopThread

MANAGE_GUILD = 1 << 5


@pytest.fixture()
def discord_bot(loop: LoopThread, core: RagCore, tmp_path: Path) -> Iterator[DiscordBot]:
    bot = DiscordBot(loop, chat_service(core, SqliteChatState(tmp_path / "state")))
    yield bot
    bot.close()


def test_commands_are_synced_to_the_configured_guild(discord_bot: DiscordBot) -> None:
    (synced,) = discord_bot.fake.wait_for(
        lambda: discord_bot.fake.calls_to("PUT", f"/applications/{BOT_ID}/guilds/{GUILD_ID}/commands")
    )
    assert {command["name"] for command in synced} == {"ask", "reindex", "status", "sets", "train"}


def test_ask_defers_then_answers_with_linked_sources(discord_bot: DiscordBot) -> None:
    interaction = discord_bot.fake.interaction("ask", 4001, {"question": "how many vacation days do we get?"})

    discord_bot.send("INTERACTION_CREATE", interaction)

    (followup,) = discord_bot.fake.wait_for(lambda: discord_bot.followups(interaction["token"]))
    assert discord_bot.callbacks(interaction)[0]["type"] == 5  # deferred: "ragbot is thinking..."
    assert "28 days" in followup["content"] and "[1]" in followup["content"]
    sources = followup["embeds"][0]
    assert sources["title"] == "Sources"
    assert "[Time off › Vacation](<https://handbook.acme.example/time-off.md#vacation>)" in sources["description"]
    assert "ragbot:feedback:up" in text_of(followup["components"])


def test_mention_is_answered_in_a_thread_and_follow_ups_need_no_mention(discord_bot: DiscordBot) -> None:
    fake = discord_bot.fake
    question = fake.message(CHANNEL_ID, user(4002, "bob"), f"<@{BOT_ID}> how do I roll back a bad deploy?")

    discord_bot.send("MESSAGE_CREATE", question)

    thread_id = int(question["id"])
    fake.wait_for(lambda: fake.calls_to("POST", f"/channels/{CHANNEL_ID}/messages/{thread_id}/threads"))
    first = fake.wait_for(lambda: fake.bot_messages(thread_id))
    assert "Rollback" in first[0]["content"]

    follow_up = fake.message(thread_id, user(4002, "bob"), "and how long does that take?")
    discord_bot.send("MESSAGE_CREATE", follow_up)

    answers = fake.wait_for(lambda: fake.bot_messages(thread_id)[1:])
    assert "4 minutes" in answers[0]["content"]


def test_feedback_click_is_stored(discord_bot: DiscordBot) -> None:
    interaction = discord_bot.fake.interaction("ask", 4003, {"question": "what is the per diem when travelling"})
    discord_bot.send("INTERACTION_CREATE", interaction)
    discord_bot.fake.wait_for(lambda: discord_bot.followups(interaction["token"]))
    answer_message = discord_bot.fake.bot_messages(CHANNEL_ID)[-1]
    click = discord_bot.fake.button_click(answer_message, "ragbot:feedback:down", 4004)

    discord_bot.send("INTERACTION_CREATE", click)

    (reply,) = discord_bot.fake.wait_for(lambda: discord_bot.callbacks(click))
    assert reply["type"] == 4 and reply["data"]["flags"] & 64 and "recorded" in reply["data"]["content"]
    (record,) = discord_bot.service.state.feedback()
    assert (record.platform, record.user_id, record.vote) == ("discord", "4004", "down")
    assert "45 EUR" in record.answer and record.question == "what is the per diem when travelling"


def test_reindex_is_for_admins_only(discord_bot: DiscordBot) -> None:
    member = discord_bot.fake.interaction("reindex", 4005)
    admin = discord_bot.fake.interaction("reindex", 4006, {"source": "handbook"}, roles=[ADMIN_ROLE_ID])

    discord_bot.send("INTERACTION_CREATE", member)
    discord_bot.send("INTERACTION_CREATE", admin)

    (refusal,) = discord_bot.fake.wait_for(lambda: discord_bot.callbacks(member))
    assert refusal["data"]["flags"] & 64 and "only ragbot admins" in refusal["data"]["content"]
    (report,) = discord_bot.fake.wait_for(lambda: discord_bot.followups(admin["token"]), timeout=120)
    assert "Reindex finished" in report["content"] and "handbook: done" in report["content"]


def test_manage_server_permission_allows_status(discord_bot: DiscordBot) -> None:
    status = discord_bot.fake.interaction("status", 4007, permissions=MANAGE_GUILD)

    discord_bot.send("INTERACTION_CREATE", status)

    (reply,) = discord_bot.fake.wait_for(lambda: discord_bot.callbacks(status))
    assert reply["data"]["flags"] & 64 and "handbook (files)" in reply["data"]["content"]


def test_messages_from_bots_are_ignored(discord_bot: DiscordBot) -> None:
    fake = discord_bot.fake
    other_bot = fake.message(CHANNEL_ID, user(4100, "otherbot", bot=True), f"<@{BOT_ID}> how do I deploy?")
    person = fake.message(CHANNEL_ID, user(4101, "carol"), f"<@{BOT_ID}> how do I deploy?")

    discord_bot.send("MESSAGE_CREATE", other_bot)
    discord_bot.send("MESSAGE_CREATE", person)

    # Events are handled in order: once the person's question is answered, the bot's was seen.
    final_answer(fake, int(person["id"]), after=person)
    assert fake.calls_to("POST", f"/channels/{CHANNEL_ID}/messages/{other_bot['id']}/threads") == []
    assert fake.bot_messages(int(other_bot["id"])) == [] and fake.bot_messages(CHANNEL_ID) == []


def test_a_mention_in_a_forum_post_is_answered_in_the_post(discord_bot: DiscordBot) -> None:
    forum_id = discord_bot.fake.next_id()
    forum = {"id": str(forum_id), "type": 15, "guild_id": str(GUILD_ID), "name": "help", "position": 2}
    discord_bot.send("CHANNEL_CREATE", {**forum, "permission_overwrites": [], "available_tags": [], "flags": 0})
    discord_bot.fake.wait_for(lambda: discord_bot.client.get_channel(forum_id))
    post = open_thread(discord_bot, forum_id)
    question = discord_bot.fake.message(post, user(4102, "dave"), f"<@{BOT_ID}> how do I roll back a bad deploy?")

    discord_bot.send("MESSAGE_CREATE", question)

    answer = final_answer(discord_bot.fake, post, after=question)
    assert "Rollback" in answer["content"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_store_down_ends_in_a_friendly_error(
    loop: LoopThread, indexed_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QDRANT_URL", f"http://127.0.0.1:{_closed_port()}")
    bot = DiscordBot(loop, chat_service(RagCore(load_settings(indexed_config)), SqliteChatState(tmp_path / "s")))
    try:
        interaction = bot.fake.interaction("ask", 4008, {"question": "how do I deploy?"})
        bot.send("INTERACTION_CREATE", interaction)
        (followup,) = bot.fake.wait_for(lambda: bot.followups(interaction["token"]))
    finally:
        bot.close()
    assert "docs index is unreachable right now" in followup["content"]
