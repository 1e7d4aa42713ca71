"""`ragbot serve` in a process of its own: its environment, a free port, signed Slack events, HTTP gets."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

TOKEN = "xoxb-very-secret-token"


SECRET = "serve-signing-secret"


def get(port: int, path: str) -> tuple[int, str]:
    """Status and body of GET http://127.0.0.1:{port}{path}; an error status is returned, not raised."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def slack_env(port: int, api_url: str = "http://127.0.0.1:9/api/", **extra: str) -> dict[str, str]:
    """The environment of a `ragbot serve` for Slack over HTTP on 127.0.0.1:``port``."""
    return {
        **os.environ,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": api_url,
        "RAGBOT_HTTP_HOST": "127.0.0.1",
        "RAGBOT_HTTP_PORT": str(port),
        **extra,
    }


def wait_healthy(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"ragbot serve exited early with {process.returncode}:\n{output[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError("ragbot serve never became healthy")


def signed_event(port: int, event: dict, event_id: str = "EvSERVE1", timeout: float = 10) -> int:
    """POST ``event`` to `ragbot serve`'s /slack/events, signed as Slack signs it; the HTTP status."""
    body = json.dumps({"type": "event_callback", "team_id": "T1", "event_id": event_id, "event": event})
    ts = str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/slack/events",
        data=body.encode(),
        headers={"Content-Type": "application/json", "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status
