"""An admin's first hour with Slack: a wrong token is named at start, in one line, in both modes;
Slack away is waited out with one line per attempt; SIGTERM always stops `ragbot serve`."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.slack.permissions import REQUIRED_SCOPES
from adapters.slack.settings import SlackSettings
from adapters.slack.startup import check_slack
from bot.errors import ConfigError
from tests.support.fake_slack import BOT_USER, FakeSlack
from tests.support.processes import run_cli, start_serve
from tests.support.project import SAMPLES, handbook_config
from tests.support.slack_bot import SlackBot, answer_for, answered_after, mention

BOT_TOKEN = "xoxb-first-hour-bot-token"
APP_TOKEN = "xapp-1-A0FIRST-hour-app-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def closed_port_url() -> str:
    """An API URL where nothing listens: Slack unreachable."""
    return f"http://127.0.0.1:{free_port()}/api/"


def serve_env(api_url: str, *, socket_mode: bool, bot_token: str = BOT_TOKEN) -> dict[str, str]:
    env = {
        "SLACK_BOT_TOKEN": bot_token,
        "SLACK_API_URL": api_url,
        "RAGBOT_HTTP_HOST": "127.0.0.1",
        "RAGBOT_HTTP_PORT": str(free_port()),
    }
    env.update({"SLACK_APP_TOKEN": APP_TOKEN} if socket_mode else {"SLACK_SIGNING_SECRET": "first-hour-secret"})
    return env


def assert_one_error_line(stderr: str, *expected: str) -> str:
    """Exactly one `error:` line, holding every expected piece; no traceback, no token."""
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    assert "Traceback" not in stderr, stderr
    for piece in expected:
        assert piece in errors[0], errors[0]
    assert BOT_TOKEN not in stderr and APP_TOKEN not in stderr
    return errors[0]


# -- ragbot serve as a user runs it ----------------------------------------------------------
def test_socket_mode_with_an_app_token_slack_rejects_exits_with_one_line(tmp_path: Path, fake_slack: FakeSlack) -> None:
    fake_slack.errors["apps.connections.open"] = "invalid_auth"
    env = serve_env(fake_slack.url + "/api/", socket_mode=True)
    result = run_cli("--config", str(handbook_config(tmp_path, SAMPLES)), "serve", env=env, timeout=120)
    assert result.returncode == 2
    assert_one_error_line(
        result.stderr, "Slack rejected SLACK_APP_TOKEN (invalid_auth)", "connections:write", "App-Level Tokens"
    )
    assert fake_slack.call_names().count("apps.connections.open") == 1  # refused once is enough


def test_socket_mode_with_a_bot_token_slack_rejects_exits_with_one_line(tmp_path: Path, fake_slack: FakeSlack) -> None:
    fake_slack.errors["auth.test"] = "invalid_auth"
    env = serve_env(fake_slack.url + "/api/", socket_mode=True)
    result = run_cli("--config", str(handbook_config(tmp_path, SAMPLES)), "serve", env=env, timeout=120)
    assert result.returncode == 2
    assert_one_error_line(result.stderr, "Slack rejected SLACK_BOT_TOKEN (invalid_auth)", "OAuth & Permissions")


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("not-a-token", "SLACK_BOT_TOKEN is not a bot token"),
        ("xapp-1-A0WRONG-place", "SLACK_BOT_TOKEN holds an app-level token (xapp-…), which belongs in SLACK_APP_TOKEN"),
    ],
)
def test_http_mode_rejects_a_malformed_bot_token_at_start(tmp_path: Path, token: str, says: str) -> None:
    env = serve_env(closed_port_url(), socket_mode=False, bot_token=token)
    result = run_cli("--config", str(handbook_config(tmp_path, SAMPLES)), "serve", env=env, timeout=120)
    assert result.returncode == 2
    line = assert_one_error_line(result.stderr, says, "OAuth & Permissions")
    assert token not in line


def test_http_mode_rejects_a_bot_token_slack_refuses_at_start(tmp_path: Path, fake_slack: FakeSlack) -> None:
    fake_slack.errors["auth.test"] = "not_authed"
    env = serve_env(fake_slack.url + "/api/", socket_mode=False)
    result = run_cli("--config", str(handbook_config(tmp_path, SAMPLES)), "serve", env=env, timeout=120)
    assert result.returncode == 2
    assert_one_error_line(result.stderr, "Slack rejected SLACK_BOT_TOKEN (not_authed)", "OAuth & Permissions")


def test_sigterm_stops_a_serve_that_is_waiting_for_slack(tmp_path: Path) -> None:
    env = {**os.environ, **serve_env(closed_port_url(), socket_mode=True)}
    process = start_serve(handbook_config(tmp_path, SAMPLES), env)
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and sum("attempt" in line for line in lines) < 2:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
        assert sum("attempt" in line for line in lines) == 2, "".join(lines)
        process.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        output, _ = process.communicate(timeout=10)
        took = time.monotonic() - stopped
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("ragbot serve ignored SIGTERM while Slack was unreachable") from None
    assert process.returncode == 0 and took < 10
    attempts = [line for line in lines if "attempt" in line]
    assert "Slack at http://127.0.0.1:" in attempts[0] and "attempt 1 failed, retrying in 1 s" in attempts[0]
    assert "attempt 2 failed, retrying in 2 s" in attempts[1]
    everything = "".join(lines) + output
    assert "Traceback" not in everything and BOT_TOKEN not in everything and APP_TOKEN not in everything


# -- the start-up check itself (in-process, against the fake) ----------------------------------
def settings_for(fake: FakeSlack, *, bot: str = BOT_TOKEN, app: str | None = None) -> SlackSettings:
    return SlackSettings(bot_token=bot, app_token=app, signing_secret=None if app else "s", api_url=fake.url + "/api/")


def check(settings: SlackSettings):  # type: ignore[no-untyped-def]
    return asyncio.run(check_slack(settings, asyncio.Event()))


def test_an_app_token_in_the_bot_token_place_is_named_without_asking_slack(fake_slack: FakeSlack) -> None:
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN holds an app-level token"):
        check(settings_for(fake_slack, bot=APP_TOKEN))
    assert fake_slack.calls == []


def test_a_bot_token_in_the_app_token_place_is_named(fake_slack: FakeSlack) -> None:
    with pytest.raises(ConfigError, match=r"SLACK_APP_TOKEN holds a bot token .*App-Level Tokens"):
        check(settings_for(fake_slack, app="xoxb-in-the-wrong-place"))
    assert fake_slack.calls == []


def test_slack_answering_503_is_waited_out_with_one_line_per_attempt(
    fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    fake_slack.unavailable["auth.test"] = 2
    with caplog.at_level(logging.INFO):
        identity = check(settings_for(fake_slack))
    assert identity is not None and identity.user_id == "UBOT"
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 2 and all(r.exc_info is None and "HTTP 503" in r.getMessage() for r in retries)
    assert fake_slack.call_names() == ["auth.test"] * 3


def test_a_token_missing_scopes_is_one_warning_naming_them(
    fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    fake_slack.granted_scopes = ",".join(sorted(REQUIRED_SCOPES - {"users:read", "groups:history"}))
    with caplog.at_level(logging.WARNING):
        identity = check(settings_for(fake_slack))
    assert identity is not None and identity.missing_scopes == ("groups:history", "users:read")
    (warning,) = [r.getMessage() for r in caplog.records if "lacks the scopes" in r.getMessage()]
    assert "groups:history, users:read" in warning and "slack-manifest-http.yaml" in warning


def test_a_stop_ends_the_wait_for_an_unreachable_slack(caplog: pytest.LogCaptureFixture) -> None:
    settings = SlackSettings(bot_token=BOT_TOKEN, app_token=APP_TOKEN, api_url=closed_port_url())

    async def stop_soon() -> tuple[object, float]:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(1.5, stop.set)
        started = time.monotonic()
        return await check_slack(settings, stop), time.monotonic() - started

    with caplog.at_level(logging.WARNING):
        identity, took = asyncio.run(stop_soon())
    assert identity is None and took < 3
    assert [r for r in caplog.records if "attempt 1 failed" in r.getMessage()]


# -- message.channels / message.groups: follow-ups in a thread without a new mention -----------
THREAD = "1690000009.000001"


@pytest.fixture()
def slack_bot(loop, core, tmp_path: Path) -> Iterator[SlackBot]:  # type: ignore[no-untyped-def]
    """The Bolt app over HTTP against its own fake Slack (as in test_slack)."""
    from bot.chat import ChatService
    from bot.chatstate import SqliteChatState

    bot = SlackBot(loop, ChatService(core, SqliteChatState(tmp_path / "state")))
    yield bot
    bot.close()


def thread_with_an_answer(bot: SlackBot, asker: str = "U3") -> None:
    bot.fake.thread_messages[THREAD] = [
        {"ts": THREAD, "user": asker, "text": f"<@{BOT_USER}> how many vacation days do we get"},
        {"ts": "1690000009.000002", "bot_id": "BBOT", "user": BOT_USER, "text": "Everyone gets 28 days [1]"},
    ]


def channel_message(text: str, user: str, channel_type: str = "channel") -> dict[str, str]:
    ts = f"{int(time.time())}.{next(_message_ids):06d}"
    return {"type": "message", "channel_type": channel_type, "user": user, "text": text, "ts": ts, "channel": "C7"}


_message_ids = itertools.count(500)


def placeholders_in_thread(bot: SlackBot) -> list[dict[str, str]]:
    return [p for p in bot.fake.calls_to("chat.postMessage") if p.get("thread_ts") == THREAD]


@pytest.mark.parametrize("channel_type", ["channel", "group"])
def test_the_asker_follows_up_in_the_thread_without_a_new_mention(slack_bot: SlackBot, channel_type: str) -> None:
    thread_with_an_answer(slack_bot)
    event = {**channel_message("and do unused ones carry over?", "U3", channel_type), "thread_ts": THREAD}

    slack_bot.event(event)

    update = answer_for(slack_bot, event, thread_ts=THREAD)
    assert "31 March" in update["text"]


def test_others_talking_in_a_thread_where_the_bot_answered_are_left_alone(slack_bot: SlackBot) -> None:
    thread_with_an_answer(slack_bot, asker="U3")
    slack_bot.event({**channel_message("lunch at noon?", "U9"), "thread_ts": THREAD})
    slack_bot.fake.wait_for(lambda: slack_bot.fake.calls_to("conversations.replies"))
    answered_after(slack_bot, "U-LATER")  # events are handled in order: a wrong answer would be out by now
    assert placeholders_in_thread(slack_bot) == []


def test_threads_and_channel_messages_without_the_bot_cost_nothing(slack_bot: SlackBot) -> None:
    slack_bot.fake.thread_messages[THREAD] = [{"ts": THREAD, "user": "U3", "text": "anyone free for lunch?"}]
    slack_bot.event({**channel_message("me!", "U3"), "thread_ts": THREAD})
    slack_bot.event(channel_message("good morning", "U3"))  # not in a thread: no API call at all
    slack_bot.fake.wait_for(lambda: slack_bot.fake.calls_to("conversations.replies"))
    answered_after(slack_bot, "U-LATER")
    assert placeholders_in_thread(slack_bot) == [] and len(slack_bot.fake.calls_to("conversations.replies")) == 1


def test_a_mention_in_a_thread_is_answered_once_though_slack_sends_two_events(slack_bot: SlackBot) -> None:
    thread_with_an_answer(slack_bot)
    text = f"<@{BOT_USER}> and do unused ones carry over?"
    message = {**channel_message(text, "U3"), "thread_ts": THREAD}
    slack_bot.event(message)
    slack_bot.event({**message, "type": "app_mention"})

    answer_for(slack_bot, message, thread_ts=THREAD)
    answered_after(slack_bot, "U-LATER")
    assert len(placeholders_in_thread(slack_bot)) == 1


def test_requests_with_a_bad_signature_say_the_signing_secret_may_be_wrong_once_a_minute(
    slack_bot: SlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="adapters.slack.server"):
        statuses = [slack_bot.event(mention("hello?"), secret="copied-the-wrong-secret")[0] for _ in range(3)]
    assert statuses == [401, 401, 401]
    (warning,) = [r.getMessage() for r in caplog.records if "SLACK_SIGNING_SECRET is wrong" in r.getMessage()]
    assert "Basic Information → App Credentials" in warning and "copied-the-wrong-secret" not in warning
