"""Cold start of ``ragbot ask``: wall time of a fresh process answering one question from the
sample handbook, when nothing changed (index built, int8 model cached), per encoder path.

.venv/bin/python bench/cold_start.py [--runs 7] [--before REV]

Paths, runs interleaved so machine noise hits all alike:
- ``precision auto`` (the default: int8 ONNX Runtime session, tokenizers, no torch import);
- ``precision fp32`` (torch and transformers, the path before int8 was the default);
- with ``--before REV``: that git revision's code (``git archive``) on the fp32 index, i.e. the
  command as it was, lazy imports and all.
Prints the median and min wall seconds of each, and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
QUESTION = "how much is the on-call stipend?"


def ask(cwd: Path, data_dir: Path, precision: str) -> float:
    env = {**os.environ, "RAGBOT_DATA_DIR": str(data_dir), "RAGBOT_EMBEDDING_PRECISION": precision}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error")
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(REPO / "ragbot.toml"), "ask", QUESTION],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0 or "stipend" not in done.stdout.lower():
        raise SystemExit(f"ask failed in {cwd} ({precision}): {done.stderr[-800:]}")
    return seconds


def index(data_dir: Path, precision: str) -> None:
    env = {**os.environ, "RAGBOT_DATA_DIR": str(data_dir), "RAGBOT_EMBEDDING_PRECISION": precision}
    env["HF_HUB_OFFLINE"] = "1"
    command = [sys.executable, "-m", "bot", "--config", str(REPO / "ragbot.toml"), "index"]
    subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--before", metavar="REV", help="also time this git revision's ask on the fp32 index")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="cold-start-"))
    dirs = {"auto": root / "auto", "fp32": root / "fp32"}
    for precision, data_dir in dirs.items():
        index(data_dir, precision)  # builds the index, and for auto the cached int8 model
    paths = {
        "ask, precision auto (int8, no torch)": (REPO, dirs["auto"], "auto"),
        "ask, precision fp32 (torch)": (REPO, dirs["fp32"], "fp32"),
    }
    if args.before:
        before = root / "before"
        before.mkdir()
        archive = subprocess.run(["git", "archive", args.before], cwd=REPO, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
        paths[f"ask at {args.before} (fp32 default then)"] = (before, dirs["fp32"], "fp32")
    for cwd, data_dir, precision in paths.values():
        ask(cwd, data_dir, precision)  # warm the page cache once
    seconds: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(args.runs):
        for name, (cwd, data_dir, precision) in paths.items():
            seconds[name].append(ask(cwd, data_dir, precision))
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()}, {args.runs} runs each, interleaved")
    print("| command | median s | min s |")
    print("|---|---|---|")
    baseline = statistics.median(seconds["ask, precision fp32 (torch)"])
    for name, values in seconds.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.2f} ({baseline / median:.1f}x faster than fp32) | {min(values):.2f} |")


if __name__ == "__main__":
    main()
