"""An index run killed mid-way, as a crash or an OOM kill would end it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.project import REPO


def index_and_kill_after(config: Path, writes: int) -> None:
    """Start `ragbot index`, SIGKILL it once it has written ``writes`` documents."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "-v", "index", "--json"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ},
    )
    seen = 0
    assert process.stderr is not None
    for line in process.stderr:  # bounded: the process ends by itself if we never kill it
        if "wrote " in line:
            seen += 1
            if seen >= writes:
                process.send_signal(signal.SIGKILL)
                break
    process.wait(timeout=120)
    assert process.returncode == -signal.SIGKILL, "the indexer finished before it could be killed"
