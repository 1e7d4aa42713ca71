"""`ragbot doctor` on a deliberately broken set-up names every broken piece and what to fix, in
text and in JSON, without printing a token; on a config that does not load it says only that."""

from __future__ import annotations

import json
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.docsite import DocsSite
from tests.support.fake_discord import FakeDiscord
from tests.support.fake_slack import FakeSlack
from tests.support.fakeserver import LoopThread
from tests.support.processes import run_cli
from tests.support.project import SAMPLES, write_config

SLACK_TOKEN = "xoxb-doctor-9QwErTy"
DISCORD_TOKEN = "bad-token"  # the fake Discord refuses this one


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def fake_discord() -> Iterator[FakeDiscord]:
    loop = LoopThread()
    fake = FakeDiscord()
    loop.run(fake.start())
    yield fake
    loop.run(fake.stop())
    loop.stop()


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[DocsSite]:
    docs = DocsSite(tmp_path / "site")
    yield docs
    docs.close()


@pytest.fixture()
def bare_repo(tmp_path: Path) -> Path:
    work, bare = tmp_path / "work", tmp_path / "docs.git"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"]
    (work / "guide").mkdir(parents=True)
    (work / "guide" / "intro.md").write_text("# Intro\n\nHello.\n")
    subprocess.run([*git, "init", "-q", str(work)], check=True)
    subprocess.run([*git, "-C", str(work), "add", "."], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-qm", "docs"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    return bare


@pytest.fixture()
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_doctor_names_each_broken_piece_and_what_to_fix(
    tmp_path: Path,
    fake_slack: FakeSlack,
    fake_discord: FakeDiscord,
    site: DocsSite,
    bare_repo: Path,
    busy_port: int,
) -> None:
    fake_slack.errors["auth.test"] = "invalid_auth"
    config = write_config(
        tmp_path,
        f"""data_dir = "/proc/ragbot-data"

[embedding]
model = "acme/no-such-model"

[generator]
backend = "transformers"
model = "{tmp_path / "no-such-generator"}"

[[sources]]
name = "folder"
type = "files"
path = "{tmp_path / "moved-away"}"

[[sources]]
name = "repo-branch"
type = "git"
repo = "{bare_repo}"
branch = "master"

[[sources]]
name = "repo-down"
type = "git"
repo = "http://127.0.0.1:{closed_port()}/docs.git"

[[sources]]
name = "site-robots"
type = "web"
urls = ["{site.url}/private/secret.html"]

[[sources]]
name = "site-404"
type = "web"
urls = ["{site.url}/no-such-page.html"]
""",
    )
    env = {
        "QDRANT_URL": f"http://127.0.0.1:{closed_port()}",
        "SLACK_BOT_TOKEN": SLACK_TOKEN,
        "SLACK_SIGNING_SECRET": "doctor-signing-secret",
        "SLACK_API_URL": fake_slack.url + "/api/",
        "DISCORD_BOT_TOKEN": DISCORD_TOKEN,
        "DISCORD_API_URL": fake_discord.api_url,
        "RAGBOT_HTTP_HOST": "127.0.0.1",
        "RAGBOT_HTTP_PORT": str(busy_port),
    }

    result = run_cli("--config", str(config), "doctor", "--json", env=env, timeout=120)
    text = run_cli("--config", str(config), "doctor", env=env, timeout=120)

    assert result.returncode == 1 and text.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    checks = {c["check"]: c for c in report["checks"]}
    assert report["ok"] is False
    expected = {
        "source folder": ("does not exist", "set `path`"),
        "source repo-branch": ("has no branch 'master' (it has: main)", "set `branch`"),
        "source repo-down": ("cannot read http://127.0.0.1:", "deploy key or token"),
        "source site-robots": ("robots.txt disallows", "robots = false"),
        "source site-404": ("answered HTTP 404", "fix `urls`"),
        "store": ("", "QDRANT_URL"),
        "model": ("acme/no-such-model", "embedding.model"),
        "generator": ("no-such-generator", "generator.model"),
        "slack": ("Slack rejected SLACK_BOT_TOKEN (invalid_auth)", "OAuth & Permissions"),
        "discord": ("Discord rejected DISCORD_BOT_TOKEN (401 Unauthorized)", "Bot page"),
        "port": (f"cannot listen on 127.0.0.1:{busy_port}", "RAGBOT_HTTP_PORT"),
        "disk": ("/proc", "RAGBOT_DATA_DIR"),
    }
    for name, (detail, fix) in expected.items():
        assert checks[name]["status"] == "fail", checks[name]
        assert detail in checks[name]["detail"] and fix in checks[name]["fix"], checks[name]
    assert checks["config"]["status"] == "ok"
    for name in expected:  # the text report has the same findings, each with its fix
        line = next(line for line in text.stdout.splitlines() if re.match(rf"FAIL\s+{re.escape(name)}\s\s", line))
        assert checks[name]["detail"][:40] in line
    assert text.stdout.count("fix: ") >= len(expected) and "12 problem(s)" in text.stdout
    for output in (result.stdout, result.stderr, text.stdout, text.stderr):
        assert SLACK_TOKEN not in output and "doctor-signing-secret" not in output


def test_doctor_on_a_config_that_does_not_load_says_only_that(tmp_path: Path) -> None:
    body = f'[[sources]]\nname = "h"\ntype = "files"\npath = "{SAMPLES}"\nschedule = "daily"\n'
    config = write_config(tmp_path, body)
    result = run_cli("--config", str(config), "doctor", "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 1 and [c["status"] for c in report["checks"]] == ["fail", "skip"]
    assert "line 5: sources.0.schedule" in report["checks"][0]["detail"], report
    assert "ragbot init" in report["checks"][0]["fix"]


def test_doctor_on_a_healthy_set_up_finds_nothing_to_fix(tmp_path: Path, fake_slack: FakeSlack) -> None:
    config = write_config(
        tmp_path, f'data_dir = "{tmp_path / "data"}"\n[[sources]]\nname = "h"\ntype = "files"\npath = "{SAMPLES}"\n'
    )
    env = {
        "SLACK_BOT_TOKEN": SLACK_TOKEN,
        "SLACK_APP_TOKEN": "xapp-1-doctor-app",
        "SLACK_API_URL": fake_slack.url + "/api/",
        "RAGBOT_HTTP_HOST": "127.0.0.1",
        "RAGBOT_HTTP_PORT": str(closed_port()),
    }
    result = run_cli("--config", str(config), "doctor", env=env)
    assert result.returncode == 0, result.stdout
    assert "ok    slack" in result.stdout and "Socket Mode (app-level token accepted)" in result.stdout
    assert fake_slack.call_names() == ["auth.test", "apps.connections.open"]
