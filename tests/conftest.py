"""Shared fixtures: real embedder, real embedded Qdrant, a private copy of the sample docs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# No test may reach a model hub: everything loads from installed packages or local paths.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_VERBOSITY"] = "error"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
for var in list(os.environ):  # a developer's own settings must not leak into tests
    if var.startswith(("QDRANT_", "RAGBOT_", "SLACK_", "DISCORD_")):
        os.environ.pop(var, None)

from bot.app.settings import AppSettings, load_settings  # noqa: E402
from bot.config import EmbeddingConfig  # noqa: E402
from bot.embedder import Embedder  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples" / "handbook"
BASE_URL = "https://handbook.acme.example/"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder(EmbeddingConfig())


@pytest.fixture()
def handbook(tmp_path: Path) -> Path:
    """A private copy of the sample handbook that a test may edit."""
    target = tmp_path / "handbook"
    shutil.copytree(SAMPLES, target)
    return target


def write_config(directory: Path, body: str) -> Path:
    path = directory / "ragbot.toml"
    path.write_text(body, encoding="utf-8")
    return path


def handbook_config(tmp_path: Path, docs: Path, extra: str = "") -> Path:
    return write_config(
        tmp_path,
        f"""data_dir = "{tmp_path / "data"}"
{extra}
[[sources]]
name = "handbook"
type = "files"
path = "{docs}"
base_url = "{BASE_URL}"
""",
    )


@pytest.fixture()
def settings_for(tmp_path: Path) -> Callable[..., AppSettings]:
    def make(docs: Path, extra: str = "") -> AppSettings:
        return load_settings(handbook_config(tmp_path, docs, extra))

    return make


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 300):
    """Run ``python -m bot`` in a fresh process, as a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or REPO,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def indexed_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample handbook indexed once per test module (chat tests: at most 3 questions a minute a user)."""
    root = tmp_path_factory.mktemp("indexed")
    config = handbook_config(root, SAMPLES, extra="[chat]\nuser_questions_per_minute = 3\n")
    result = run_cli("--config", str(config), "index")
    assert result.returncode == 0, result.stderr
    return config


@pytest.fixture(scope="module")
def core(indexed_config: Path):  # type: ignore[no-untyped-def]
    from bot.core import RagCore

    rag = RagCore(load_settings(indexed_config))
    yield rag
    rag.close()


@pytest.fixture(scope="module")
def loop():  # type: ignore[no-untyped-def]
    from tests.support.fakeserver import LoopThread

    thread = LoopThread()
    yield thread
    thread.stop()


def start_serve(config: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """`ragbot serve` in its own process; the caller stops it with SIGTERM."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "-v", "serve"],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def start_scheduler(config: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """`ragbot scheduler --run-now` in its own process, with ``env`` over ours; the caller stops it
    with SIGTERM and reads its output with communicate()."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "scheduler", "--run-now"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **env},
    )


def only_json(stdout: str) -> dict:
    """The command printed exactly one JSON object and nothing else."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one JSON line, got: {stdout!r}"
    return json.loads(lines[0])


def index_once(settings: AppSettings, embedder: Embedder):  # type: ignore[no-untyped-def]
    """One run of the only configured source through the real runner; its SourceReport."""
    from bot.store import open_store
    from indexer.runner import run_index

    store = open_store(settings)
    try:
        (report,) = run_index(settings, store, embedder)
        return report
    finally:
        store.close()


@pytest.fixture()
def fake_slack():  # type: ignore[no-untyped-def]
    """A fake Slack Web API on 127.0.0.1, for `ragbot serve` processes."""
    from tests.support.fake_slack import FakeSlack, LoopThread

    loop = LoopThread()
    fake = FakeSlack()
    loop.run(fake.start())
    yield fake
    loop.run(fake.stop())
    loop.stop()
