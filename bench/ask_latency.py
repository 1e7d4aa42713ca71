"""`ragbot ask` end to end, per generator: a fresh process per question, as a user runs it,
and the in-process answer latency a long-running bot sees.

    .venv/bin/python bench/ask_latency.py [--runs 5]

Also scores each generator on the sample eval set (answer-contains, refusals, citation validity).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import REPO, indexed_handbook, machine, summary_ms  # noqa: E402

QUESTIONS = [
    "Can I deploy on a Friday?",
    "how much is the on call stipend",
    "what is the per diem when travelling",
    "who approves a hotfix",
    "what is the wifi password in the berlin office",
]


def cli(config: Path, *args: str, generator: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RAGBOT_GENERATOR": generator, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), *args], capture_output=True, text=True, env=env, cwd=REPO
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--generators", nargs="+", default=["extractive", "transformers"])
    args = parser.parse_args()
    config = indexed_handbook("bench-ask-")
    print(f"machine: {machine()}")
    for generator in args.generators:
        started = time.perf_counter()
        first = cli(config, "ask", QUESTIONS[0], "--json", generator=generator)
        assert first.returncode == 0, first.stderr
        cold = time.perf_counter() - started
        fresh = []
        for i in range(args.runs):
            started = time.perf_counter()
            result = cli(config, "ask", QUESTIONS[i % len(QUESTIONS)], "--json", generator=generator)
            fresh.append(time.perf_counter() - started)
            assert result.returncode == 0, result.stderr
        print(f"{generator}: first process (cold caches) {cold:.1f} s; fresh process {summary_ms(fresh)}")
        quality(config, generator)


def quality(config: Path, generator: str) -> None:
    os.environ["RAGBOT_GENERATOR"] = generator
    from bot.app.settings import load_settings
    from bot.core import RagCore
    from bot.evaluation import evaluate, load_cases, summarise

    core = RagCore(load_settings(config))
    try:
        results = evaluate(core, load_cases(REPO / "samples" / "eval.jsonl"))
    finally:
        core.close()
    summary = summarise(results)
    valid = []
    for r in results:
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", r.answer)}
        valid.append(cited <= set(range(1, len(r.urls) + 1)) and (bool(cited) or not r.answered))
    summary["citation_validity"] = round(sum(valid) / len(valid), 4)
    print(f"{generator}: in-process over {len(results)} eval questions: {json.dumps(summary)}")
    for r in results[:4]:
        print(f"   {r.case.question!r} -> {r.answer[:160]!r}")


if __name__ == "__main__":
    main()
