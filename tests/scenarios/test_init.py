"""`ragbot init` writes a commented config that `ragbot doctor` and `ragbot index` accept, for a
folder, a git repository and a website; it asks in a terminal and never overwrites a file."""

from __future__ import annotations

import functools
import json
import os
import pty
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.processes import only_json, run_cli
from tests.support.project import REPO, SAMPLES


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def accepted_by_doctor_and_index(config: Path, cwd: Path) -> dict:
    """doctor finds no problem before the first index and none after it; index adds documents.
    Returns the index run's JSON for the source."""
    env = {"RAGBOT_HTTP_PORT": str(free_port()), "RAGBOT_HTTP_HOST": "127.0.0.1"}
    before = run_cli("--config", str(config), "doctor", "--json", env=env, cwd=cwd)
    report = json.loads(before.stdout)
    assert before.returncode == 0 and report["ok"], before.stdout
    assert {c["check"] for c in report["checks"] if c["status"] == "warn"} <= {"store"}  # not indexed yet
    indexed = run_cli("--config", str(config), "index", "--json", env=env, cwd=cwd)
    assert indexed.returncode == 0, indexed.stderr
    (source,) = only_json(indexed.stdout)["sources"]
    assert source["status"] == "ok" and source["added"] > 0, source
    after = json.loads(run_cli("--config", str(config), "doctor", "--json", env=env, cwd=cwd).stdout)
    store = next(c for c in after["checks"] if c["check"] == "store")
    assert after["ok"] and store["status"] == "ok" and "chunks" in store["detail"], store
    return source


def test_init_for_a_folder_writes_a_config_that_doctor_and_index_accept(tmp_path: Path) -> None:
    docs = tmp_path / "team-handbook"
    shutil.copytree(SAMPLES, docs)
    result = run_cli("init", "--folder", "team-handbook", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    config = tmp_path / "ragbot.toml"
    text = config.read_text()
    assert 'name = "team-handbook"' in text and 'path = "team-handbook"' in text  # relative to the file
    assert "# base_url" in text and "ragbot doctor" in text and "SLACK_BOT_TOKEN" in text  # commented
    assert "ragbot doctor" in result.stdout
    accepted_by_doctor_and_index(config, tmp_path)


@pytest.fixture()
def bare_repo(tmp_path: Path) -> Path:
    """A local bare repository whose default branch is `trunk`, holding part of the handbook."""
    work, bare = tmp_path / "work", tmp_path / "handbook.git"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=trunk"]
    shutil.copytree(SAMPLES, work)
    subprocess.run([*git, "init", "-q", str(work)], check=True)
    subprocess.run([*git, "-C", str(work), "add", "."], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-qm", "docs"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    return bare


def test_init_for_a_git_repository_finds_its_branch_and_doctor_and_index_accept_it(
    tmp_path: Path, bare_repo: Path
) -> None:
    config = tmp_path / "conf" / "ragbot.toml"
    result = run_cli("--config", str(config), "init", "--git", str(bare_repo), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = config.read_text()
    assert 'type = "git"' in text and 'branch = "trunk"' in text and 'name = "handbook"' in text
    assert f'repo = "{bare_repo}"' in text and f"--config {config}" in result.stdout
    accepted_by_doctor_and_index(config, tmp_path)


class _LoggedFiles(SimpleHTTPRequestHandler):
    requested: list[str] = []

    def log_message(self, *args: object) -> None:
        type(self).requested.append(self.path)


@pytest.fixture()
def intranet(tmp_path: Path) -> Iterator[str]:
    """A plain static docs site on 127.0.0.1: three pages, a robots.txt that allows ragbot."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /drafts/\n")
    pages = {
        "index.html": '<h1>Handbook</h1><a href="leave.html">Leave</a> <a href="oncall.html">On-call</a>',
        "leave.html": "<h1 id='parental'>Parental leave</h1><p>Parents get 16 weeks of paid leave.</p>",
        "oncall.html": "<h1 id='stipend'>On-call stipend</h1><p>The on-call stipend is 300 EUR a week.</p>",
    }
    for name, body in pages.items():
        (root / name).write_text(
            f"<!DOCTYPE html><html><head><title>{name}</title></head><body><main>{body}</main></body></html>"
        )
    _LoggedFiles.requested = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_LoggedFiles, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_init_for_a_website_writes_a_config_that_doctor_and_index_accept(tmp_path: Path, intranet: str) -> None:
    result = run_cli("init", "--url", intranet, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "ragbot.toml").read_text()
    assert 'type = "web"' in text and f'urls = ["{intranet}"]' in text and 'name = "127.0.0.1"' in text
    source = accepted_by_doctor_and_index(tmp_path / "ragbot.toml", tmp_path)
    assert source["fetched"] == 3 and any(line.startswith("/robots.txt") for line in _LoggedFiles.requested)


def test_init_never_overwrites_a_file(tmp_path: Path) -> None:
    existing = tmp_path / "ragbot.toml"
    existing.write_text("# my careful config\n")
    result = run_cli("init", "--folder", str(SAMPLES), cwd=tmp_path)
    assert result.returncode == 2 and existing.read_text() == "# my careful config\n"
    assert result.stderr.strip() == (
        "error: ragbot.toml already exists; ragbot init never overwrites a file: move it away, "
        "or pass --config NEW.toml"
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "error: ragbot init needs --folder PATH, --git URL or --url URL when not run in a terminal"),
        (["--folder", "no-such-folder"], "error: --folder no-such-folder: no such folder"),
        (["--url", "docs.example.com"], "error: --url docs.example.com: give the docs site's start page"),
    ],
)
def test_init_without_a_usable_answer_says_what_to_give_and_writes_nothing(
    tmp_path: Path, args: list[str], says: str
) -> None:
    result = run_cli("init", *args, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith(says), result.stderr
    assert not (tmp_path / "ragbot.toml").exists()


def test_init_in_a_terminal_asks_what_to_index(tmp_path: Path) -> None:
    shutil.copytree(SAMPLES, tmp_path / "docs")
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "init"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    os.close(terminal)
    seen = ""
    try:
        for prompt, answer in (("Choose 1, 2 or 3", "1"), ("Folder [docs]", ""), ("Source name [docs]", "handbook")):
            seen = _read_until(controller, prompt, seen)
            os.write(controller, answer.encode() + b"\r")
        process.wait(timeout=60)
        seen = _read_until(controller, "next:", seen)
    finally:
        process.kill()
        os.close(controller)
    assert process.returncode == 0, seen
    assert "What should ragbot index?" in seen and "1) a folder of docs" in seen
    text = (tmp_path / "ragbot.toml").read_text()
    assert 'name = "handbook"' in text and 'path = "docs"' in text


def _read_until(fd: int, wanted: str, seen: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                seen += os.read(fd, 4096).decode(errors="replace")
            except OSError:  # the child closed the terminal
                break
    assert wanted in seen, seen
    return seen
