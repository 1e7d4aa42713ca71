"""Slack scenarios: the real Bolt app over HTTP and Socket Mode, against a fake Slack on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.slack import SlackSettings, create_slack_app
from bot.app.build import chat_service
from bot.app.settings import load_settings
from bot.chatstate import SqliteChatState
from bot.core import RagCore
from tests.support.fake_slack import BOT_USER, FakeSlack, LoopThread
from tests.support.slack_bot import (
    SlackBot,
    answer_for,
    answered_after,
    blocks_text,
    command,
    mention,
    posted_except,
    posted_ts,
)


@pytest.fixture()
def slack(loop: LoopThread, core: RagCore, tmp_path: Path) -> Iterator[SlackBot]:
    bot = SlackBot(loop, chat_service(core, SqliteChatState(tmp_path / "state")), admins=frozenset({"UADMIN"}))
    yield bot
    bot.close()


def test_mention_in_a_channel_is_answered_in_its_thread_with_sources(slack: SlackBot) -> None:
    event = mention("how do I roll back a bad deploy?")

    status, _, ack_seconds = slack.event(event)

    assert status == 200 and ack_seconds < 3
    update = answer_for(slack, event)
    assert "Rollback" in update["text"] and "[1]" in update["text"]
    assert "https://handbook.acme.example/deploys.md#rolling-back" in blocks_text(update)
    assert "ragbot_feedback_up" in blocks_text(update)


def test_mention_inside_a_thread_replies_in_that_thread(slack: SlackBot) -> None:
    event = mention("how many vacation days do we get", thread_ts="1690000000.000001")

    slack.event(event)

    update = answer_for(slack, event, thread_ts="1690000000.000001")
    assert "28 days" in update["text"]


def test_direct_messages_are_answered(slack: SlackBot) -> None:
    event = {
        "type": "message",
        "channel_type": "im",
        "user": "U2",
        "text": "per diem when travelling?",
        "ts": "1.5",
        "channel": "D1",
    }

    slack.event(event)

    placeholder = slack.fake.wait_for(
        lambda: [p for p in slack.fake.calls_to("chat.postMessage") if p["channel"] == "D1"]
    )[0]
    update = slack.final_update("D1", posted_ts(slack, placeholder))
    assert "45 EUR" in update["text"]


def test_follow_up_in_a_thread_uses_the_earlier_turns(slack: SlackBot) -> None:
    thread = "1690000001.000001"
    slack.fake.thread_messages[thread] = [
        {"ts": thread, "user": "U3", "text": f"<@{BOT_USER}> how many vacation days do we get"},
        {"ts": "1690000001.000002", "bot_id": "BBOT", "user": BOT_USER, "text": "Everyone gets 28 days [1]"},
    ]
    event = mention("and do unused ones carry over?", user="U3", thread_ts=thread)
    slack.fake.thread_messages[thread].append({"ts": event["ts"], "user": "U3", "text": event["text"]})

    slack.event(event)

    update = answer_for(slack, event, thread_ts=thread)
    assert "31 March" in update["text"]
    assert slack.fake.calls_to("conversations.replies")[0]["ts"] == thread


def test_a_slack_retry_of_the_same_event_is_answered_once(slack: SlackBot) -> None:
    event = mention("what are core hours", user="U4")
    slack.event(event, event_id="EvRETRY1")
    status, _, _ = slack.event(
        event, event_id="EvRETRY1", headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )

    answer_for(slack, event)
    answered_after(slack, "U4-LATER")
    placeholders = [p for p in slack.fake.calls_to("chat.postMessage") if p.get("thread_ts") == event["ts"]]
    assert status == 200 and len(placeholders) == 1


def test_bad_signature_is_refused_and_nothing_happens(slack: SlackBot) -> None:
    status, _, _ = slack.event(mention("how do I deploy?"), secret="wrong-secret")
    later = answered_after(slack, "U-SIGNED")
    assert status == 401
    assert posted_except(slack, later) == []


def test_stale_timestamp_is_refused(slack: SlackBot) -> None:
    status, _, _ = slack.event(mention("how do I deploy?"), timestamp=int(time.time()) - 600)
    later = answered_after(slack, "U-FRESH")
    assert status == 401
    assert posted_except(slack, later) == []


def test_healthz_answers(slack: SlackBot) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{slack.port}/healthz", timeout=10) as response:
        assert response.status == 200 and json.loads(response.read()) == {"status": "ok"}


def test_feedback_click_is_stored_and_shown(slack: SlackBot) -> None:
    event = mention("how much is the on call stipend", user="U5")
    slack.event(event)
    update = answer_for(slack, event)
    status = slack.click(update, update["ts"], "ragbot_feedback_down")

    assert status == 200
    shown = slack.fake.wait_for(lambda: [u for u in slack.fake.calls_to("chat.update") if "recorded" in blocks_text(u)])
    assert "ragbot_feedback_up" not in blocks_text(shown[0])
    (record,) = slack.service.state.feedback()
    assert (record.user_id, record.vote, record.question) == ("U9", "down", "how much is the on call stipend")
    assert "300 EUR" in record.answer and record.sources[0].startswith("https://handbook.acme.example/on-call.md")
    assert slack.service.state.feedback_counts() == {"up": 0, "down": 1}


def test_non_admins_get_an_ephemeral_refusal(slack: SlackBot) -> None:
    fields = command("reindex", "UOTHER")
    fields["response_url"] = f"{slack.fake.url}/respond/cmd1"

    status, body, _ = slack.form(fields)

    assert status == 200
    reply = json.loads(body)
    assert reply["response_type"] == "ephemeral" and "only ragbot admins" in reply["text"]


def test_admin_reindex_reports_progress_and_counts(slack: SlackBot) -> None:
    fields = command("reindex handbook", "UADMIN")
    fields["response_url"] = f"{slack.fake.url}/respond/cmd2"

    status, body, _ = slack.form(fields)

    assert status == 200 and "Reindexing handbook" in json.loads(body)["text"]
    (final,) = slack.fake.wait_for(lambda: slack.fake.calls_to("response_url:cmd2"))
    assert "Reindex finished" in final["text"] and "handbook: done" in final["text"] and "unchanged" in final["text"]


def test_workspace_admins_are_recognised_through_users_info(loop: LoopThread, core: RagCore, tmp_path: Path) -> None:
    bot = SlackBot(loop, chat_service(core, SqliteChatState(tmp_path / "s")))
    try:
        bot.fake.users["UWSADMIN"] = {"id": "UWSADMIN", "is_admin": True}
        bot.fake.users["UMEMBER"] = {"id": "UMEMBER", "is_admin": False}
        _, member, _ = bot.form(command("status", "UMEMBER"))
        _, admin, _ = bot.form(command("status", "UWSADMIN"))
    finally:
        bot.close()
    assert "only ragbot admins" in json.loads(member)["text"]
    assert "handbook (files)" in json.loads(admin)["text"] and "Feedback:" in json.loads(admin)["text"]


def test_rate_limit_says_when_to_try_again(slack: SlackBot) -> None:
    events = [mention(f"what are core hours, take {i}", user="URATE") for i in range(4)]
    for event in events:
        slack.event(event)

    updates = [answer_for(slack, event) for event in events]

    busy = [u for u in updates if "try again in" in u["text"]]
    assert len(busy) == 1 and "13:00" not in busy[0]["text"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_store_down_ends_in_a_friendly_error_in_the_thread(
    loop: LoopThread, indexed_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QDRANT_URL", f"http://127.0.0.1:{_closed_port()}")
    down = RagCore(load_settings(indexed_config))
    bot = SlackBot(loop, chat_service(down, SqliteChatState(tmp_path / "s")))
    try:
        event = mention("how do I deploy?", user="U7")
        bot.event(event)
        update = answer_for(bot, event)
    finally:
        bot.close()
    assert "docs index is unreachable right now" in update["text"]


def test_socket_mode_answers_an_events_api_envelope(loop: LoopThread, core: RagCore, tmp_path: Path) -> None:
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

    fake = FakeSlack()
    api = loop.run(fake.start()) + "/api/"
    settings = SlackSettings(bot_token="xoxb-test", app_token="xapp-test", api_url=api)
    app = create_slack_app(chat_service(core, SqliteChatState(tmp_path / "s")), settings)

    async def connect() -> AsyncSocketModeHandler:
        handler = AsyncSocketModeHandler(app, settings.app_token, web_client=app.client)
        await handler.connect_async()
        return handler

    handler = loop.run(connect())
    try:
        fake.wait_for(lambda: fake.socket_connected)
        event = mention("hotel limit for business trips in london", user="U8")
        envelope = {
            "envelope_id": "env-1",
            "type": "events_api",
            "accepts_response_payload": False,
            "payload": {
                "type": "event_callback",
                "team_id": "T1",
                "api_app_id": "A1",
                "event_id": "EvSOCKET1",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}],
                "event": event,
            },
        }
        loop.run(fake.push_envelope(envelope))
        update = fake.wait_for(lambda: [u for u in fake.calls_to("chat.update") if "250 EUR" in u.get("text", "")])
    finally:
        loop.run(handler.close_async())
        loop.run(fake.stop())
    assert update and {"envelope_id": "env-1"}.items() <= fake.socket_acks[0].items()
    placeholder = fake.calls_to("chat.postMessage")[0]
    assert placeholder["thread_ts"] == event["ts"] and placeholder["channel"] == "C1"


def test_reindex_while_a_run_is_going_says_so(slack: SlackBot, core: RagCore) -> None:
    from indexer.runner import _source_lock

    fields = command("reindex handbook", "UADMIN")
    fields["response_url"] = f"{slack.fake.url}/respond/cmd3"
    with _source_lock(core.settings.data_dir, "handbook"):  # another run holds the source
        slack.form(fields)
        (final,) = slack.fake.wait_for(lambda: slack.fake.calls_to("response_url:cmd3"))
    assert "already being indexed" in final["text"]


def test_messages_from_other_bots_are_ignored(slack: SlackBot) -> None:
    event = mention("how do I deploy?", user="UOTHERBOT", bot_id="B999")

    status, _, _ = slack.event(event)
    later = answered_after(slack, "U-PERSON")

    assert status == 200 and posted_except(slack, later) == []


def test_a_slack_429_is_retried(slack: SlackBot) -> None:
    slack.fake.rate_limit_once.add("chat.update")
    event = mention("what does nit mean in a review", user="U429")

    slack.event(event)

    first = answer_for(slack, event)  # recorded, then refused with 429 and Retry-After: 1
    attempts = slack.fake.wait_for(
        lambda: [u for u in slack.fake.calls_to("chat.update") if u["ts"] == first["ts"]][1:]
    )
    assert "nit:" in attempts[0]["text"]


def test_a_document_quoting_a_broadcast_mention_notifies_nobody(loop: LoopThread, tmp_path: Path) -> None:
    from tests.support.processes import run_cli
    from tests.support.project import handbook_config

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "outages.md").write_text(
        "# Outages\n\n## Telling people\n\nWhen production is down, post <!channel> outage in #general "
        "and <!here> in #support within 10 minutes.\n",
        encoding="utf-8",
    )
    config = handbook_config(tmp_path, docs)
    assert run_cli("--config", str(config), "index").returncode == 0
    rag = RagCore(load_settings(config))
    bot = SlackBot(loop, chat_service(rag, SqliteChatState(tmp_path / "state")))
    try:
        event = mention("who do I tell when production is down?")
        bot.event(event)
        update = answer_for(bot, event)
    finally:
        bot.close()
        rag.close()

    assert "10 minutes" in update["text"]
    everything = json.dumps(update)
    assert "<!channel>" not in everything and "<!here>" not in everything
    assert "&lt;!channel&gt;" in update["text"]  # the fallback text, which Slack parses for mentions too


def _two_source_core(tmp_path: Path) -> RagCore:
    """A public source and an HR source that only channel CHR may read; HR has a file that fails."""
    public, hr = tmp_path / "public", tmp_path / "hr"
    public.mkdir()
    hr.mkdir()
    (public / "welcome.md").write_text("# Welcome\n\nThe office opens at 9.\n")
    (hr / "benefits.md").write_text("# Benefits\n\nHealth insurance starts on day one.\n")
    (hr / "layoff-list-2027-names.md").write_text("")  # empty: skipped, with its name in the report
    config = tmp_path / "ragbot.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n'
        '[access]\ndefault = ["public"]\n[[access.rules]]\nslack_channel = "CHR"\nsets = ["hr"]\n'
        f'[[sources]]\nname = "docs"\ntype = "files"\npath = "{public}"\n'
        f'[[sources]]\nname = "people"\ntype = "files"\npath = "{hr}"\nsets = ["hr"]\n'
    )
    return RagCore(load_settings(config))


def test_reindex_in_a_public_channel_names_only_what_that_channel_may_read(loop: LoopThread, tmp_path: Path) -> None:
    core = _two_source_core(tmp_path)
    bot = SlackBot(loop, chat_service(core, SqliteChatState(tmp_path / "s")), admins=frozenset({"UADMIN"}))
    try:
        fields = command("reindex", "UADMIN")  # in C1, a public channel: default sets, ["public"]
        fields["response_url"] = f"{bot.fake.url}/respond/pub"
        _, ack, _ = bot.form(fields)
        posted = bot.fake.wait_for(
            lambda: (lambda c: c if len(c) >= 2 else None)(bot.fake.calls_to("response_url:pub"))
        )
    finally:
        bot.close()
        core.close()
    (channel,) = [p for p in posted if p["response_type"] == "in_channel"]
    (private,) = [p for p in posted if p["response_type"] == "ephemeral"]
    assert json.loads(ack)["response_type"] == "ephemeral"
    assert "docs: done" in channel["text"] and "1 more source(s) this channel can't read" in channel["text"]
    assert "people" not in channel["text"] and "layoff" not in channel["text"]
    assert "people: done" in private["text"] and "layoff-list-2027-names.md: skipped" in private["text"]


def test_reindex_and_status_answer_in_chat_even_when_something_unexpected_breaks(
    loop: LoopThread, tmp_path: Path
) -> None:
    core = _two_source_core(tmp_path)
    data = core.settings.data_dir
    (data / "locks" / "index-docs.lock").mkdir(parents=True)  # the run's lock file can't be opened: an OSError
    (data / "runs.jsonl").mkdir()  # and the run log can't be read
    bot = SlackBot(loop, chat_service(core, SqliteChatState(tmp_path / "s")), admins=frozenset({"UADMIN"}))
    try:
        fields = command("reindex docs", "UADMIN")
        fields["response_url"] = f"{bot.fake.url}/respond/broken"
        bot.form(fields)
        (reply,) = bot.fake.wait_for(lambda: bot.fake.calls_to("response_url:broken"))
        status, body, _ = bot.form(command("status", "UADMIN"))
    finally:
        bot.close()
        core.close()
    assert reply["response_type"] == "ephemeral"
    assert "Reindex failed: an unexpected IsADirectoryError" in reply["text"] and "logs" in reply["text"]
    assert "Traceback" not in reply["text"]
    assert status == 200 and "Status unavailable: an unexpected IsADirectoryError" in json.loads(body)["text"]
