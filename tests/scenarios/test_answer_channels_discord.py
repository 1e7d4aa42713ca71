"""Answer channels on Discord (issue 15): auto mode, a person taking over a thread, mode off,
"Ask a person" and forum posts, with the real discord.py client against the fake Discord."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app.build import chat_service
from bot.chatstate import SqliteChatState
from bot.core import RagCore
from bot.handoff import HandOff
from tests.support.discord_bot import DiscordBot, final_answer
from tests.support.fake_discord import BOT_ID, CHANNEL_ID, GUILD_ID, PRIVATE_CHANNEL_ID, FakeDiscord, user
from tests.support.fakeserver import LoopThread
from tests.support.processes import run_cli
from tests.support.project import SAMPLES, handbook_config

ESCALATION_CHANNEL_ID = 2500
UNSURE_CHANNEL_ID = 2600  # no entry of its own: the guild's (auto, silent when unsure)
ROLE_ID = 7000
CHANNELS = f"""
[chat]
user_questions_per_minute = 10

[chat.escalation]
discord_role = "{ROLE_ID}"
discord_channel = "{ESCALATION_CHANNEL_ID}"

[[channels]]
discord_guild = "{GUILD_ID}"
mode = "auto"
answer_when_unsure = false

[[channels]]
discord_channel = "{CHANNEL_ID}"
mode = "auto"

[[channels]]
discord_channel = "{PRIVATE_CHANNEL_ID}"
discord_guild = "{GUILD_ID}"
mode = "off"
"""


@pytest.fixture(scope="module")
def indexed_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The handbook indexed once, with auto and off channels and an escalation role and channel."""
    root = tmp_path_factory.mktemp("discord-channels")
    config = handbook_config(root, SAMPLES, extra=CHANNELS)
    result = run_cli("--config", str(config), "index")
    assert result.returncode == 0, result.stderr
    return config


@pytest.fixture()
def discord_bot(loop: LoopThread, core: RagCore, tmp_path: Path) -> Iterator[DiscordBot]:
    bot = DiscordBot(loop, chat_service(core, SqliteChatState(tmp_path / "state")))
    yield bot
    bot.close()


def add_text_channel(bot: DiscordBot, channel_id: int, name: str) -> None:
    channel = {"id": str(channel_id), "type": 0, "guild_id": str(GUILD_ID), "name": name, "position": 5}
    bot.send("CHANNEL_CREATE", {**channel, "permission_overwrites": [], "flags": 0})
    bot.fake.wait_for(lambda: bot.client.get_channel(channel_id))


def say(bot: DiscordBot, channel_id: int, author_id: int, text: str) -> dict[str, Any]:
    message = bot.fake.message(channel_id, user(author_id, f"user{author_id}"), text)
    bot.send("MESSAGE_CREATE", message)
    return message


def threads_started(fake: FakeDiscord, channel_id: int, message: dict[str, Any]) -> list[dict[str, Any]]:
    return fake.calls_to("POST", f"/channels/{channel_id}/messages/{message['id']}/threads")


def answers_in(fake: FakeDiscord, thread_id: int) -> list[dict[str, Any]]:
    """The bot's final answers in a thread (only a final answer carries buttons)."""
    return [m for m in fake.bot_messages(thread_id) if m["components"]]


def custom_ids(components: list[dict[str, Any]]) -> list[str]:
    return [button["custom_id"] for row in components for button in row["components"]]


def test_auto_channel_answers_a_question_in_a_thread_and_ignores_chatter(discord_bot: DiscordBot) -> None:
    fake = discord_bot.fake
    # This channel answers when unsure: chatter that got through would get "not in the docs".
    chatter = [say(discord_bot, CHANNEL_ID, 4200, text) for text in ("thanks!", "lunch?", "deploying now", ":tada:")]
    question = say(discord_bot, CHANNEL_ID, 4201, "how do I roll back a bad deploy")

    answer = final_answer(fake, int(question["id"]), after=question)
    assert "Rollback" in answer["content"]
    assert custom_ids(answer["components"]) == ["ragbot:feedback:up", "ragbot:feedback:down", "ragbot:escalate"]
    assert threads_started(fake, CHANNEL_ID, question)
    time.sleep(1.0)  # a wrongly answered chatter line would show up by now
    assert all(not threads_started(fake, CHANNEL_ID, m) and not fake.bot_messages(int(m["id"])) for m in chatter)
    assert fake.bot_messages(CHANNEL_ID) == []


def test_auto_channel_stays_quiet_when_unsure_but_a_mention_always_gets_a_reply(discord_bot: DiscordBot) -> None:
    fake = discord_bot.fake
    add_text_channel(discord_bot, UNSURE_CHANNEL_ID, "ask-docs")
    unsure = say(discord_bot, UNSURE_CHANNEL_ID, 4210, "how do I feed the office goldfish over the holidays?")
    asked = say(
        discord_bot, UNSURE_CHANNEL_ID, 4211, f"<@{BOT_ID}> how do I feed the office goldfish over the holidays?"
    )

    reply = final_answer(fake, int(asked["id"]), after=asked)
    assert reply["content"] or reply["embeds"]
    time.sleep(1.0)
    assert not threads_started(fake, UNSURE_CHANNEL_ID, unsure) and not fake.bot_messages(int(unsure["id"]))


def test_follow_up_from_the_asker_is_answered_until_a_person_replies(discord_bot: DiscordBot) -> None:
    fake = discord_bot.fake
    question = say(discord_bot, CHANNEL_ID, 4220, "how do I roll back a bad deploy?")
    thread = int(question["id"])
    final_answer(fake, thread, after=question)

    follow_up = say(discord_bot, thread, 4220, "and how long does that take?")
    assert "4 minutes" in final_answer(fake, thread, after=follow_up)["content"]
    outsider = say(discord_bot, thread, 4221, "how long does a rollback take, roughly?")  # not the asker
    say(discord_bot, thread, 4222, "I'll take this one")  # a person steps in
    say(discord_bot, thread, 4220, "and how much is the on call stipend?")
    asked = say(discord_bot, thread, 4220, f"<@{BOT_ID}> can I sell unused vacation days back?")

    final_answer(fake, thread, after=asked)  # a mention still works
    time.sleep(2.0)  # a wrongly answered follow-up would have been posted by now too
    assert len(answers_in(fake, thread)) == 3  # question, first follow-up, mention
    assert all(int(a["id"]) < int(outsider["id"]) or int(a["id"]) > int(asked["id"]) for a in answers_in(fake, thread))


def test_off_channel_is_silent_even_to_mentions(discord_bot: DiscordBot) -> None:
    fake = discord_bot.fake
    mentioned = say(discord_bot, PRIVATE_CHANNEL_ID, 4230, f"<@{BOT_ID}> how do I roll back a bad deploy?")
    plain = say(discord_bot, PRIVATE_CHANNEL_ID, 4230, "how do I roll back a bad deploy?")
    later = say(discord_bot, CHANNEL_ID, 4231, f"<@{BOT_ID}> what are core hours?")

    final_answer(fake, int(later["id"]), after=later)  # events are handled in order: the others were seen
    time.sleep(1.0)
    assert not threads_started(fake, PRIVATE_CHANNEL_ID, mentioned) and not threads_started(
        fake, PRIVATE_CHANNEL_ID, plain
    )
    assert fake.bot_messages(PRIVATE_CHANNEL_ID) == [] and not fake.bot_messages(int(mentioned["id"]))


def click(bot: DiscordBot, message: dict[str, Any], custom_id: str, user_id: int) -> dict[str, Any]:
    interaction = bot.fake.button_click(message, custom_id, user_id)
    # Discord sends the partial channel with every interaction; a thread is resolved from the cache.
    interaction["channel"] = {"id": message["channel_id"], "type": 11, "guild_id": str(GUILD_ID)}
    bot.send("INTERACTION_CREATE", interaction)
    return interaction


def ephemeral_reply(bot: DiscordBot, interaction: dict[str, Any]) -> str:
    """What the clicker alone was told: the callback's message, or the followup after a deferral."""

    def told() -> str | None:
        callbacks = bot.callbacks(interaction)
        if callbacks and callbacks[0]["type"] == 4:
            assert callbacks[0]["data"]["flags"] & 64
            return str(callbacks[0]["data"]["content"])
        followups = bot.followups(interaction["token"])
        return str(followups[0]["content"]) if followups else None

    return bot.fake.wait_for(told)


def test_ask_a_person_mentions_the_role_in_the_escalation_channel_with_a_link(discord_bot: DiscordBot) -> None:
    fake = discord_bot.fake
    add_text_channel(discord_bot, ESCALATION_CHANNEL_ID, "docs-team")
    question = say(discord_bot, CHANNEL_ID, 4240, "how much is the on call stipend?")
    thread = int(question["id"])
    answer = final_answer(fake, thread, after=question)

    clicked = click(discord_bot, answer, "ragbot:escalate", 4240)

    (paged,) = fake.wait_for(lambda: fake.calls_to("POST", f"/channels/{ESCALATION_CHANNEL_ID}/messages"))
    assert paged["content"].startswith(f"<@&{ROLE_ID}> <@4240> asked for a person about: “how much is the on call")
    assert f"https://discord.com/channels/{GUILD_ID}/{thread}" in paged["content"]
    allowed = paged["allowed_mentions"]
    assert allowed["parse"] == [] and [int(r) for r in allowed["roles"]] == [ROLE_ID] and not allowed.get("users")
    assert "Done" in ephemeral_reply(discord_bot, clicked)
    assert [m for m in fake.bot_messages(thread) if "asked a person" in m["content"]]
    (record,) = [r for r in discord_bot.service.state.questions() if r.message_id == answer["id"]]
    assert record.escalated and "300 EUR" in record.answer and record.cited

    again = click(discord_bot, answer, "ragbot:escalate", 4240)  # a second page within the minute is refused
    assert "wait" in ephemeral_reply(discord_bot, again)
    assert len(fake.calls_to("POST", f"/channels/{ESCALATION_CHANNEL_ID}/messages")) == 1

    # A 👎 offers the same button; clicking it pages for that answer.
    down = click(discord_bot, answer, "ragbot:feedback:down", 4241)
    (offer,) = discord_bot.fake.wait_for(lambda: discord_bot.callbacks(down))
    assert custom_ids(offer["data"]["components"]) == [f"ragbot:escalate:{answer['id']}"]
    bot_user = user(BOT_ID, "ragbot", bot=True)
    ephemeral = fake.message(thread, bot_user, offer["data"]["content"], components=offer["data"]["components"])
    click(discord_bot, ephemeral, f"ragbot:escalate:{answer['id']}", 4241)
    fake.wait_for(lambda: len(fake.calls_to("POST", f"/channels/{ESCALATION_CHANNEL_ID}/messages")) == 2)
    assert (
        "<@4241> asked for a person"
        in fake.calls_to("POST", f"/channels/{ESCALATION_CHANNEL_ID}/messages")[1]["content"]
    )


def test_ask_a_person_without_an_escalation_channel_mentions_the_role_in_the_thread(discord_bot: DiscordBot) -> None:
    fake = discord_bot.fake
    config = discord_bot.service.settings.chat.escalation.model_copy(update={"discord_channel": None})
    discord_bot.service.handoff = HandOff(config)  # [chat.escalation] with discord_role alone
    question = say(discord_bot, CHANNEL_ID, 4245, "how much is the on call stipend?")
    thread = int(question["id"])
    answer = final_answer(fake, thread, after=question)

    click(discord_bot, answer, "ragbot:escalate", 4245)

    (paged,) = fake.wait_for(
        lambda: [
            b for b in fake.calls_to("POST", f"/channels/{thread}/messages") if "asked for a person" in b["content"]
        ]
    )
    assert (
        paged["content"].startswith(f"<@&{ROLE_ID}> <@4245> asked for a person")
        and "asked a person" in paged["content"]
    )
    assert [int(r) for r in paged["allowed_mentions"]["roles"]] == [ROLE_ID]
    assert not fake.calls_to("POST", f"/channels/{ESCALATION_CHANNEL_ID}/messages")


def test_ask_a_person_with_an_unreachable_channel_says_so(discord_bot: DiscordBot) -> None:
    fake = discord_bot.fake  # the escalation channel was never created: Discord says Unknown Channel
    question = say(discord_bot, CHANNEL_ID, 4250, "what are core hours?")
    thread = int(question["id"])
    answer = final_answer(fake, thread, after=question)

    told = ephemeral_reply(discord_bot, click(discord_bot, answer, "ragbot:escalate", 4250))

    assert "couldn't reach" in told and "Unknown Channel" in told
    assert not [m for m in fake.bot_messages(thread) if "asked a person" in m["content"]]
    (record,) = [r for r in discord_bot.service.state.questions() if r.message_id == answer["id"]]
    assert not record.escalated


def test_forum_post_is_answered_from_its_title_and_tagged(discord_bot: DiscordBot) -> None:
    fake = discord_bot.fake
    forum = discord_bot.loop.run(fake.open_forum("help", ["bug", "answered by bot"]))
    discord_bot.fake.wait_for(lambda: discord_bot.client.get_channel(forum))
    # The question is in the title; the message alone would not be answered (silent when unsure).
    post = discord_bot.loop.run(
        fake.post_in_forum(forum, user(4260, "erin"), "how do I roll back a bad deploy?", "prod is on fire, help")
    )
    post_id = int(post["id"])

    answer = final_answer(fake, post_id, after={"id": str(post_id - 1)})
    assert "Rollback" in answer["content"]
    (tagged,) = fake.wait_for(lambda: fake.calls_to("PATCH", f"/channels/{post_id}"))
    assert tagged["applied_tags"] == [fake.tag_ids(forum)["answered by bot"]]
    assert fake.channels[post_id]["applied_tags"] == [fake.tag_ids(forum)["answered by bot"]]
    assert json.dumps(fake.calls_to("POST", f"/channels/{forum}")) == "[]"  # nothing posted outside the post


def test_forum_poster_follow_ups_are_answered_but_not_others_without_a_mention(discord_bot: DiscordBot) -> None:
    fake = discord_bot.fake
    forum = discord_bot.loop.run(fake.open_forum("questions", []))  # no tag to apply: answered all the same
    discord_bot.fake.wait_for(lambda: discord_bot.client.get_channel(forum))
    post = discord_bot.loop.run(
        fake.post_in_forum(forum, user(4270, "finn"), "Rollbacks", "how do I roll back a bad deploy?")
    )
    post_id = int(post["id"])
    final_answer(fake, post_id, after={"id": str(post_id - 1)})
    assert not fake.calls_to("PATCH", f"/channels/{post_id}")

    follow_up = say(discord_bot, post_id, 4270, "and how long does that take?")
    assert "4 minutes" in final_answer(fake, post_id, after=follow_up)["content"]
    say(discord_bot, post_id, 4271, "how do I roll back a bad deploy on staging?")  # not the poster
    later = say(discord_bot, post_id, 4271, f"<@{BOT_ID}> what are core hours?")

    final_answer(fake, post_id, after=later)
    time.sleep(1.0)
    assert len(answers_in(fake, post_id)) == 3  # the post, the poster's follow-up, the mention
