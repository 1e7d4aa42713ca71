"""A Slack bot that runs for months meets ever more channels; what it remembers of them is bounded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import adapters.slack.threads as slack_threads
from bot.app.build import chat_service
from bot.chatstate import SqliteChatState
from bot.core import RagCore
from tests.support.fake_slack import LoopThread
from tests.support.slack_bot import SlackBot, answer_for, mention


@pytest.fixture()
def slack(loop: LoopThread, core: RagCore, tmp_path: Path) -> Iterator[SlackBot]:
    bot = SlackBot(loop, chat_service(core, SqliteChatState(tmp_path / "state")))
    yield bot
    bot.close()


def test_mentions_in_more_channels_than_it_keeps_forget_the_oldest_channels_kind(
    slack: SlackBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slack_threads, "CHANNEL_TYPES_KEPT", 2)

    for channel in ("C1", "C2", "C3", "C1"):
        event = mention("what are core hours", channel=channel)
        slack.event(event)
        answer_for(slack, event)

    asked = [call["channel"] for call in slack.fake.calls_to("conversations.info")]
    assert asked == ["C1", "C2", "C3", "C1"]  # C1's kind was forgotten when C3's was learned
