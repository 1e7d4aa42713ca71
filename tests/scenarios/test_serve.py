"""`ragbot serve` as a real process: Slack over HTTP, configured only through the environment."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.support.fake_slack import BOT_USER, FakeSlack, LoopThread
from tests.support.processes import run_cli, start_serve
from tests.support.project import SAMPLES, handbook_config
from tests.support.serving import SECRET, TOKEN, free_port, signed_event, slack_env, wait_healthy


def test_serve_answers_a_mention_and_stops_cleanly_without_logging_secrets(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    config = handbook_config(tmp_path, SAMPLES)
    assert run_cli("--config", str(config), "index").returncode == 0
    port = free_port()
    process = start_serve(config, slack_env(port, fake_slack.url + "/api/"))
    try:
        wait_healthy(port, process)
        event = {
            "type": "app_mention",
            "user": "U1",
            "text": f"<@{BOT_USER}> parental leave weeks?",
            "ts": "5.1",
            "channel": "C9",
        }
        assert signed_event(port, event) == 200
        update = fake_slack.wait_for(lambda: [u for u in fake_slack.calls_to("chat.update") if "16 weeks" in u["text"]])
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert update[0]["channel"] == "C9"
    assert process.returncode == 0, output
    assert TOKEN not in output and SECRET not in output


def test_serve_without_a_platform_says_what_to_set(tmp_path: Path) -> None:
    result = run_cli("--config", str(handbook_config(tmp_path, SAMPLES)), "serve")
    assert result.returncode == 2 and "SLACK_BOT_TOKEN" in result.stderr and "DISCORD_BOT_TOKEN" in result.stderr


def test_slack_needs_a_signing_secret_or_an_app_token(tmp_path: Path) -> None:
    result = run_cli("--config", str(handbook_config(tmp_path, SAMPLES)), "serve", env={"SLACK_BOT_TOKEN": TOKEN})
    assert result.returncode == 2
    assert "SLACK_APP_TOKEN" in result.stderr and "SLACK_SIGNING_SECRET" in result.stderr
    assert TOKEN not in result.stderr


def test_serve_runs_discord_from_the_environment(tmp_path: Path) -> None:
    from tests.support.fake_discord import BOT_ID, FakeDiscord

    loop = LoopThread()
    fake = FakeDiscord()
    loop.run(fake.start())
    config = handbook_config(tmp_path, SAMPLES)
    assert run_cli("--config", str(config), "index").returncode == 0
    env = {
        **os.environ,
        "DISCORD_BOT_TOKEN": "discord-secret-token",
        "DISCORD_API_URL": fake.api_url,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "DISCORD_GUILD_IDS": "1000",
        "RAGBOT_HTTP_HOST": "127.0.0.1",
        "RAGBOT_HTTP_PORT": str(free_port()),
    }
    process = start_serve(config, env)
    try:
        fake.wait_for(lambda: fake.calls_to("PUT", f"/applications/{BOT_ID}/guilds/1000/commands"), timeout=120)
        interaction = fake.interaction("ask", 4001, {"question": "when is the release branch cut?"})
        fake.wait_for(lambda: fake.connected)
        time.sleep(0.5)
        loop.run(fake.dispatch("INTERACTION_CREATE", interaction))
        (followup,) = fake.wait_for(lambda: fake.calls_to("POST", f"/webhooks/{BOT_ID}/{interaction['token']}"))
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
        loop.run(fake.stop())
        loop.stop()
    assert "Wednesday" in followup["content"]
    assert process.returncode == 0, output
    assert "discord-secret-token" not in output


def test_a_rejected_discord_token_is_a_clear_error(tmp_path: Path) -> None:
    from tests.support.fake_discord import FakeDiscord

    loop = LoopThread()
    fake = FakeDiscord()
    loop.run(fake.start())
    env = {"DISCORD_BOT_TOKEN": "bad-token", "DISCORD_API_URL": fake.api_url, "DISCORD_GATEWAY_URL": fake.gateway_url}
    try:
        result = run_cli("--config", str(handbook_config(tmp_path, SAMPLES)), "serve", env=env)
    finally:
        loop.run(fake.stop())
        loop.stop()
    assert result.returncode == 2
    assert "Discord rejected DISCORD_BOT_TOKEN" in result.stderr and "bad-token" not in result.stderr
