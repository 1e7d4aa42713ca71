"""An admin's first hour with Discord: the token is checked with /users/@me at start, a wrong one
is named in one line, Discord away is waited out, and the start-up log has no voice warning."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.discord.settings import DiscordSettings
from adapters.discord.startup import check_discord
from bot.errors import ConfigError
from tests.support.fake_discord import BOT_ID, FakeDiscord
from tests.support.fakeserver import LoopThread
from tests.support.processes import start_serve
from tests.support.project import SAMPLES, handbook_config

TOKEN = "Zq9Lm7Xw4-fh-Vt3Kp8"


@pytest.fixture()
def fake() -> Iterator[FakeDiscord]:
    loop = LoopThread()
    server = FakeDiscord()
    loop.run(server.start())
    yield server
    loop.run(server.stop())
    loop.stop()


def settings(api_url: str, token: str = TOKEN) -> DiscordSettings:
    return DiscordSettings(bot_token=token, api_url=api_url)


def check(discord_settings: DiscordSettings):  # type: ignore[no-untyped-def]
    return asyncio.run(check_discord(discord_settings, asyncio.Event()))


def test_a_token_discord_refuses_is_named_with_where_to_get_a_new_one(fake: FakeDiscord) -> None:
    with pytest.raises(ConfigError) as refused:
        check(settings(fake.api_url, token="bad-token"))
    message = str(refused.value)
    assert message.startswith("Discord rejected DISCORD_BOT_TOKEN (401 Unauthorized)")
    assert "Bot page" in message and "discord.com/developers/applications" in message
    assert "bad-token" not in message and "\n" not in message
    assert fake.call_names() == ["GET /users/@me"]


@pytest.mark.parametrize(
    ("pasted", "says"),
    [
        ("123456789012345678", "looks like the Application ID"),
        ("0f" * 32, "looks like the application's Public Key"),
        (f"Bot {TOKEN}", "starts with 'Bot '"),
    ],
)
def test_values_pasted_instead_of_the_token_are_named_without_asking_discord(
    fake: FakeDiscord, pasted: str, says: str
) -> None:
    with pytest.raises(ConfigError, match=says):
        check(settings(fake.api_url, token=pasted))
    assert fake.calls == []


def test_discord_answering_503_is_waited_out_with_one_line_per_attempt(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    fake.unavailable["/users/@me"] = 2
    with caplog.at_level(logging.INFO):
        identity = check(settings(fake.api_url))
    assert identity is not None and identity.user_id == str(BOT_ID)
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 2 and all(r.exc_info is None and "HTTP 503" in r.getMessage() for r in retries)


def test_a_stop_ends_the_wait_for_an_unreachable_discord(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/api/v10"

    async def stop_soon() -> tuple[object, float]:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(1.5, stop.set)
        started = time.monotonic()
        return await check_discord(settings(closed), stop), time.monotonic() - started

    with caplog.at_level(logging.WARNING):
        identity, took = asyncio.run(stop_soon())
    assert identity is None and took < 3
    (first,) = [r for r in caplog.records if "attempt 1 failed" in r.getMessage()]
    assert first.exc_info is None and f"Discord at {closed}" in first.getMessage()


def test_serve_signs_in_to_discord_without_a_voice_warning(tmp_path: Path, fake: FakeDiscord) -> None:
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    env = {
        **os.environ,
        "DISCORD_BOT_TOKEN": TOKEN,
        "DISCORD_API_URL": fake.api_url,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "DISCORD_GUILD_IDS": "1000",
        "RAGBOT_HTTP_HOST": "127.0.0.1",
        "RAGBOT_HTTP_PORT": str(port.getsockname()[1]),
    }
    port.close()
    process = start_serve(handbook_config(tmp_path, SAMPLES), env)
    try:
        fake.wait_for(lambda: fake.calls_to("PUT", f"/applications/{BOT_ID}/guilds/1000/commands"), timeout=120)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert f"Discord: signed in as ragbot ({BOT_ID})" in output
    assert "voice will NOT be supported" not in output and "PyNaCl" not in output, output
    assert TOKEN not in output
