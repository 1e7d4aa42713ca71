"""What the scheduler does with the question log: prune it to [insights] retention_days, post the
weekly gaps digest to Slack or Discord (the fake platforms on 127.0.0.1), and serve /admin on
the ops port of `ragbot scheduler` as `ragbot serve` does."""

from __future__ import annotations

import logging
import signal
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app.build import build_core
from bot.app.insights import post_digest, start_insights_schedule
from bot.app.settings import AppSettings, load_settings
from bot.chatstate import SqliteChatState
from tests.support.fake_discord import FakeDiscord
from tests.support.fake_slack import FakeSlack, LoopThread
from tests.support.insights_seed import GYM, HR_ONLY, OLD, seed
from tests.support.processes import start_scheduler
from tests.support.project import BASE_URL, SAMPLES, handbook_config
from tests.support.serving import free_port, get

DIGEST = """
[insights]
digest_channel = "{target}"
retention_days = 30
"""


@pytest.fixture(scope="module")
def platforms() -> Iterator[tuple[FakeSlack, FakeDiscord]]:
    loop = LoopThread()
    slack, discord = FakeSlack(), FakeDiscord()
    loop.run(slack.start())
    loop.run(discord.start())
    yield slack, discord
    loop.run(slack.stop())
    loop.run(discord.stop())
    loop.stop()


def digest_settings(indexed_config: Path, tmp_path: Path, target: str, env: dict[str, str]) -> AppSettings:
    """The indexed handbook's data dir, with a digest channel and platform tokens."""
    data_dir = load_settings(indexed_config).data_dir
    config = tmp_path / "digest.toml"
    config.write_text(
        f'data_dir = "{data_dir}"\n{DIGEST.format(target=target)}\n[[sources]]\nname = "handbook"\n'
        f'type = "files"\npath = "{SAMPLES}"\nbase_url = "{BASE_URL}"\n'
    )
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        return load_settings(config)


@pytest.fixture(scope="module")
def seeded_index(indexed_config: Path) -> Path:
    state = SqliteChatState(load_settings(indexed_config).data_dir)
    seed(state)
    state.close()
    return indexed_config


def test_the_weekly_digest_is_posted_to_slack_with_what_that_channel_may_read(
    seeded_index: Path, tmp_path: Path, platforms: tuple[FakeSlack, FakeDiscord]
) -> None:
    slack, _ = platforms
    env = {"SLACK_BOT_TOKEN": "xoxb-digest-test", "SLACK_API_URL": f"{slack.url}/api/"}
    settings = digest_settings(seeded_index, tmp_path, "slack:CDOCS", env)

    with build_core(settings) as app:
        text = post_digest(settings, app.core, app.chat_state())

    (posted,) = [call for call in slack.calls_to("chat.postMessage") if call["channel"] == "CDOCS"]
    assert posted["text"] == text and posted["unfurl_links"] in (False, "false", "0", 0)
    assert text is not None and text.startswith("*Docs coverage gaps, last 7 days*")
    assert "10 of 13 questions" in text  # the week, less the HR question
    assert "\n1. *Gym" in text and f"“{GYM[0][1]}” (5×, 4 people)" in text
    assert f"<{BASE_URL}" in text  # the closest page, as a Slack link
    assert HR_ONLY[1] not in text  # asked in the HR channel: not for a public digest
    assert OLD[1] not in text  # older than the week


def test_the_digest_goes_to_discord_with_mentions_off(
    seeded_index: Path, tmp_path: Path, platforms: tuple[FakeSlack, FakeDiscord]
) -> None:
    _, discord = platforms
    env = {"DISCORD_BOT_TOKEN": "discord-digest-token", "DISCORD_API_URL": discord.api_url}
    settings = digest_settings(seeded_index, tmp_path, "discord:424242", env)

    with build_core(settings) as app:
        text = post_digest(settings, app.core, app.chat_state())

    (posted,) = discord.calls_to("POST", "/channels/424242/messages")
    assert posted["content"] == text and posted["allowed_mentions"] == {"parse": []}
    assert text is not None and "\n1. **Gym" in text and f"](<{BASE_URL}" in text


def test_the_scheduler_prunes_old_questions_and_schedules_the_digest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = handbook_config(tmp_path, SAMPLES, extra=DIGEST.format(target="slack:CDOCS"))
    settings = load_settings(config)
    state = SqliteChatState(settings.data_dir)
    seed(state)
    state.close()
    caplog.set_level(logging.INFO, logger="bot.app.insights")
    caplog.set_level(logging.INFO, logger="bot.insights.log")

    with build_core(settings) as app:
        stop = start_insights_schedule(settings, app)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(r.question == OLD[1] for r in app.chat_state().questions()):
            time.sleep(0.1)
        kept = [r.question for r in app.chat_state().questions()]
        stop()

    assert OLD[1] not in kept and GYM[0][1] in kept and len(kept) == 14  # 60 days old > retention_days = 30
    assert "question log: pruned 1 question(s) older than 30 days" in caplog.text
    assert "scheduled post the gaps digest: next run" in caplog.text and "09:00:" in caplog.text


def test_ragbot_scheduler_serves_the_admin_page_too(tmp_path: Path) -> None:
    config = handbook_config(tmp_path, SAMPLES, extra="[scheduler]\njitter_s = 0\n")
    config.write_text(config.read_text() + 'schedule = "0 0 1 1 *"\n')
    port = free_port()
    env = {
        "RAGBOT_HTTP_HOST": "127.0.0.1",
        "RAGBOT_HTTP_PORT": str(port),
        "RAGBOT_ADMIN_TOKEN": "scheduler-admin-token",
    }
    process = start_scheduler(config, env)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
                break
            except OSError:
                time.sleep(0.3)
        login = get(port, "/admin/login")
        page = get(port, "/admin/gaps.json")
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert login[0] == 200 and "Admin token" in login[1]
    assert page[0] == 401  # data only with a session
    assert process.returncode == 0, err
    assert "scheduler-admin-token" not in out + err
