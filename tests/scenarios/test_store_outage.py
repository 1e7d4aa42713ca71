"""`ragbot serve` against a Qdrant server that is down at start, comes back, goes away and comes
back again: the process stays up, /readyz tells the truth, chat gets a clear reply meanwhile, and
no credential shows up anywhere. "Qdrant" is tests/support/fake_qdrant.py: qdrant-client's own engine
behind the REST endpoints, stopped and restarted on the same port."""

from __future__ import annotations

import itertools
import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_qdrant import FakeQdrant
from tests.support.fake_slack import BOT_USER, FakeSlack
from tests.support.fakeserver import LoopThread
from tests.support.processes import run_cli, start_serve
from tests.support.project import SAMPLES, handbook_config
from tests.support.serving import SECRET, TOKEN, free_port, get, signed_event, slack_env, wait_healthy

PASSWORD = "hunter2-Zx8vQ-pw"
API_KEY = "qk-7f3a9c1e5b2d8f4a6c0e9b7d5f3a1c2"  # 33 characters
_events = itertools.count(1)


def mention(port: int, text: str, user: str) -> str:
    """Post a signed app_mention (a fresh event id); the ts of the message, which is its thread."""
    ts = f"{int(time.time())}.{next(_events):06d}"
    event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER}> {text}", "ts": ts, "channel": "C9"}
    assert signed_event(port, event, f"EvOUT{ts}") == 200
    return ts


def reply_to(slack: FakeSlack, thread_ts: str) -> str:
    """The text that replaced the placeholder posted in ``thread_ts``."""

    def final() -> str | None:
        posted = slack.calls_to("chat.postMessage")
        for index, message in enumerate(posted):
            if message.get("thread_ts") == thread_ts:
                ts = f"{1700000000 + index + 1}.000100"
                updates = [u for u in slack.calls_to("chat.update") if u["ts"] == ts and "blocks" in u]
                return updates[-1]["text"] if updates else None
        return None

    return slack.wait_for(final, timeout=120)


def wait_ready(port: int, want: int, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = get(port, "/readyz")
        if status == want:
            return json.loads(body)
        time.sleep(0.2)
    raise AssertionError(f"/readyz never answered {want}; last: {status} {body}")


@pytest.fixture()
def qdrant(tmp_path: Path):  # type: ignore[no-untyped-def]
    loop = LoopThread()
    fake = FakeQdrant(tmp_path / "qdrant-data")
    loop.run(fake.start())
    yield loop, fake
    try:
        loop.run(fake.stop())
    except Exception:  # already stopped by the test
        pass
    fake.close()
    loop.stop()


def test_serve_rides_out_qdrant_going_down_and_coming_back(tmp_path: Path, fake_slack: FakeSlack, qdrant) -> None:
    loop, fake = qdrant
    port = fake.port
    url = f"http://admin:{PASSWORD}@127.0.0.1:{port}"
    store_env = {"QDRANT_URL": url, "QDRANT_API_KEY": API_KEY}
    config = handbook_config(tmp_path, SAMPLES)
    indexed = run_cli("--config", str(config), "index", env=store_env)
    assert indexed.returncode == 0, indexed.stderr
    loop.run(fake.stop())  # Qdrant is down before serve starts

    http_port = free_port()
    process = start_serve(config, slack_env(http_port, fake_slack.url + "/api/", **store_env))
    try:
        wait_healthy(http_port, process)  # up, although the store is not
        assert get(http_port, "/healthz")[0] == 200
        down = wait_ready(http_port, 503)
        assert down["checks"]["store"].startswith(f"qdrant unreachable at http://***@127.0.0.1:{port}")
        early = reply_to(fake_slack, mention(http_port, "parental leave weeks?", "U1"))
        assert "docs index is unreachable right now" in early

        loop.run(fake.start(port))  # Qdrant is back
        assert wait_ready(http_port, 200)["checks"] == {"store": "ok", "collection": "ok", "model": "ok"}
        assert "16 weeks" in reply_to(fake_slack, mention(http_port, "parental leave weeks?", "U2"))

        loop.run(fake.stop())  # and goes away while serving
        assert wait_ready(http_port, 503)["checks"]["store"].startswith("qdrant unreachable at http://***@")
        assert "docs index is unreachable right now" in reply_to(
            fake_slack, mention(http_port, "how do I roll back a deploy?", "U3")
        )

        loop.run(fake.start(port))  # and comes back once more
        wait_ready(http_port, 200)
        assert "Rollback" in reply_to(fake_slack, mention(http_port, "how do I roll back a deploy?", "U4"))
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "the store answers again" in output  # the StoreWatch noticed the way back
    posted = json.dumps(fake_slack.calls)
    for text in (output, posted, indexed.stdout + indexed.stderr):
        for secret in (PASSWORD, API_KEY, TOKEN, SECRET):
            assert secret[:6] not in text and secret[-6:] not in text
