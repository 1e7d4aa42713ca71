"""Answer channels on Slack (issue 15): auto mode, a person taking over a thread, mode off, and
"Ask a person", with the real Bolt app against the fake Slack."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app.build import chat_service
from bot.chatstate import SqliteChatState
from bot.core import RagCore
from tests.support.fake_slack import BOT_USER, LoopThread
from tests.support.processes import run_cli
from tests.support.project import SAMPLES, handbook_config
from tests.support.slack_bot import SlackBot, answer_for, blocks_text, mention

CHANNELS = """
[chat]
user_questions_per_minute = 10

[chat.escalation]
slack_channel = "CESC"
slack_usergroup = "SDOCS"

[[channels]]
slack_channel = "CAUTO"
mode = "auto"
answer_when_unsure = false

[[channels]]
slack_channel = "CASK"
mode = "auto"

[[channels]]
slack_channel = "COFF"
mode = "off"
"""
_ts = itertools.count(1)


@pytest.fixture(scope="module")
def indexed_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The handbook indexed once, with an auto channel, an off channel and an escalation target."""
    root = tmp_path_factory.mktemp("channels")
    config = handbook_config(root, SAMPLES, extra=CHANNELS)
    result = run_cli("--config", str(config), "index")
    assert result.returncode == 0, result.stderr
    return config


@pytest.fixture()
def slack(loop: LoopThread, core: RagCore, tmp_path: Path) -> Iterator[SlackBot]:
    bot = SlackBot(loop, chat_service(core, SqliteChatState(tmp_path / "state")))
    yield bot
    bot.close()


def said(text: str, user: str = "U1", channel: str = "CAUTO", **extra: Any) -> dict[str, Any]:
    """A plain channel message (no mention), as message.channels delivers it."""
    ts = f"{int(time.time())}.{next(_ts):06d}"
    return {
        "type": "message",
        "channel_type": "channel",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        **extra,
    }


def posts_in_thread(bot: SlackBot, channel: str, thread_ts: str) -> list[dict[str, Any]]:
    return [
        p for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == channel and p.get("thread_ts") == thread_ts
    ]


def auto_answer(bot: SlackBot, event: dict[str, Any]) -> dict[str, Any]:
    return bot.fake.wait_for(lambda: posts_in_thread(bot, event["channel"], event["ts"]))[0]


def test_auto_channel_answers_a_question_in_its_thread_and_ignores_chatter(slack: SlackBot) -> None:
    # CASK answers when unsure: chatter that got through would be answered "not in the docs".
    chatter = [said(text, user="U7", channel="CASK") for text in ("thanks!", "lunch?", "deploying now", ":tada:")]
    question = said("how do I roll back a bad deploy", user="U1", channel="CASK")

    for event in [*chatter, question]:
        slack.event(event)

    posted = auto_answer(slack, question)
    assert "Rollback" in posted["text"] and "ragbot_escalate" in blocks_text(posted)
    time.sleep(1.0)  # a wrongly answered chatter line would show up by now
    assert all(not posts_in_thread(slack, "CASK", e["ts"]) for e in chatter)
    assert not slack.fake.calls_to("chat.update")  # no placeholder in auto mode: nothing to replace


def test_auto_channel_stays_quiet_when_unsure_but_a_mention_always_gets_a_reply(slack: SlackBot) -> None:
    unsure = said("how do I feed the office goldfish over the holidays?", user="U2")
    slack.event(unsure)
    asked = mention("how do I feed the office goldfish over the holidays?", user="U3", channel="CAUTO")
    slack.event(asked)

    reply = answer_for(slack, asked)
    assert reply["text"]
    time.sleep(1.0)
    assert not posts_in_thread(slack, "CAUTO", unsure["ts"])


def test_follow_up_from_the_asker_is_answered_until_a_person_replies(slack: SlackBot) -> None:
    root = "1690000100.000001"
    slack.fake.thread_messages[root] = [
        {"ts": root, "user": "U4", "text": "how many vacation days do we get"},
        {"ts": "1690000100.000002", "bot_id": "BBOT", "user": BOT_USER, "text": "Everyone gets 28 days [1]"},
    ]
    follow_up = said("and do unused ones carry over?", user="U4", thread_ts=root)
    slack.event(follow_up)
    answered = slack.fake.wait_for(lambda: posts_in_thread(slack, "CAUTO", root))
    assert "31 March" in answered[0]["text"]

    slack.fake.thread_messages[root].append({"ts": "1690000100.000009", "user": "U8", "text": "I'll take this one"})
    silenced = said("and how much is the on call stipend?", user="U4", thread_ts=root)
    slack.event(silenced)
    slack.event(mention("can I sell unused days back?", user="U4", channel="CAUTO", thread_ts=root))

    slack.fake.wait_for(lambda: len(posts_in_thread(slack, "CAUTO", root)) >= 2)  # a mention still works
    time.sleep(2.0)  # a wrongly answered follow-up would have been posted by now too
    assert len(posts_in_thread(slack, "CAUTO", root)) == 2  # the person who stepped in answers now


def test_off_channel_is_silent_even_to_mentions(slack: SlackBot) -> None:
    slack.event(mention("how do I roll back a bad deploy?", user="U5", channel="COFF"))
    slack.event(said("how do I roll back a bad deploy?", user="U5", channel="COFF"))
    time.sleep(1.5)
    assert [p for p in slack.fake.calls_to("chat.postMessage") if p["channel"] == "COFF"] == []


def click(bot: SlackBot, posted: dict[str, Any], ts: str, user: str, hook: str) -> None:
    assert bot.click(posted, ts, "ragbot_escalate", user=user, hook=hook) == 200


def posted_ts(bot: SlackBot, posted: dict[str, Any]) -> str:
    index = bot.fake.calls_to("chat.postMessage").index(posted)
    return f"{1700000000 + index + 1}.000100"


def test_ask_a_person_links_the_thread_for_the_user_group_and_notes_it_in_the_thread(slack: SlackBot) -> None:
    question = said("how much is the on call stipend?", user="U6")
    slack.fake.thread_messages[question["ts"]] = [{"ts": question["ts"], "user": "U6", "text": question["text"]}]
    slack.event(question)
    posted = auto_answer(slack, question)
    ts = posted_ts(slack, posted)

    click(slack, posted, ts, "U6", "esc1")

    (paged,) = slack.fake.wait_for(
        lambda: [p for p in slack.fake.calls_to("chat.postMessage") if p["channel"] == "CESC"]
    )
    assert paged["text"].startswith("<!subteam^SDOCS> <@U6> asked for a person")
    assert "on call stipend" in paged["text"]
    assert f"https://acme.slack.com/archives/CAUTO/p{question['ts'].replace('.', '')}" in paged["text"]
    note = slack.fake.wait_for(
        lambda: [p for p in posts_in_thread(slack, "CAUTO", question["ts"]) if "asked a person" in p["text"]]
    )
    assert note
    (record,) = [r for r in slack.service.state.questions() if r.message_id == f"CAUTO:{ts}"]
    assert record.escalated and "300 EUR" in record.answer and record.cited

    click(slack, posted, ts, "U6", "esc2")  # a second page within the minute is refused
    (again,) = slack.fake.wait_for(lambda: slack.fake.calls_to("response_url:esc2"))
    assert "wait" in again["text"]
    assert len([p for p in slack.fake.calls_to("chat.postMessage") if p["channel"] == "CESC"]) == 1


def test_ask_a_person_with_an_unreachable_channel_says_so(slack: SlackBot) -> None:
    slack.fake.missing_channels.add("CESC")
    question = said("what are core hours?", user="U9")
    slack.event(question)
    posted = auto_answer(slack, question)

    click(slack, posted, posted_ts(slack, posted), "U9", "esc3")

    (reply,) = slack.fake.wait_for(lambda: slack.fake.calls_to("response_url:esc3"))
    assert "couldn't reach" in reply["text"] and "channel_not_found" in reply["text"]
    assert not [p for p in posts_in_thread(slack, "CAUTO", question["ts"]) if "asked a person" in p["text"]]
