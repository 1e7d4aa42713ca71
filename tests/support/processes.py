"""ragbot as a user runs it: the CLI, `ragbot serve` and `ragbot scheduler` in processes of their own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.project import REPO  # noqa: E402


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
