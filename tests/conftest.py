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
for var in ("QDRANT_URL", "QDRANT_API_KEY", "RAGBOT_CONFIG", "RAGBOT_DATA_DIR", "RAGBOT_GENERATOR"):
    os.environ.pop(var, None)

from bot.config import EmbeddingConfig, Settings, load_settings  # noqa: E402
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
def settings_for(tmp_path: Path) -> Callable[..., Settings]:
    def make(docs: Path, extra: str = "") -> Settings:
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


def only_json(stdout: str) -> dict:
    """The command printed exactly one JSON object and nothing else."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one JSON line, got: {stdout!r}"
    return json.loads(lines[0])
