"""Shared fixtures: real embedder, real embedded Qdrant, a private copy of the sample docs."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
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
# Hermetic int8 cache: one build per test session in a private folder, never the developer's
# ~/.cache/ragbot (set in os.environ so `ragbot` subprocesses share it). Hugging Face keeps its
# own cache where it was.
os.environ.setdefault("HF_HOME", str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "huggingface"))
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="ragbot-test-cache-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], ignore_errors=True)

from bot.app.settings import AppSettings, load_settings  # noqa: E402
from bot.config import EmbeddingConfig  # noqa: E402
from bot.embedder import Embedder  # noqa: E402
from tests.support.processes import run_cli  # noqa: E402
from tests.support.project import SAMPLES, handbook_config  # noqa: E402


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder(EmbeddingConfig())


@pytest.fixture()
def handbook(tmp_path: Path) -> Path:
    """A private copy of the sample handbook that a test may edit."""
    target = tmp_path / "handbook"
    shutil.copytree(SAMPLES, target)
    return target


@pytest.fixture()
def settings_for(tmp_path: Path) -> Callable[..., AppSettings]:
    def make(docs: Path, extra: str = "") -> AppSettings:
        return load_settings(handbook_config(tmp_path, docs, extra))

    return make


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
