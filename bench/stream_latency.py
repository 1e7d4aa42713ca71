"""Time to the first visible words vs the whole answer, with a streaming generator (Gemma 3 270M
via transformers): what a Slack or Discord user waits before the message starts filling in.

    .venv/bin/python bench/stream_latency.py [--questions 12]

The sample handbook is indexed once; the first answerable eval questions are asked in-process
with the model loaded, as a running bot asks them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import REPO, indexed_handbook, machine, summary_ms  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=12)
    args = parser.parse_args()

    from bot.app.settings import load_settings
    from bot.core import RagCore

    settings = load_settings(indexed_handbook("ragbot-stream-"))
    settings.generator.backend = "transformers"
    core = RagCore(settings)
    rows = [json.loads(line) for line in (REPO / "samples" / "eval.jsonl").read_text().splitlines() if line.strip()]
    questions = [row["question"] for row in rows if row.get("answerable", True)][: args.questions]
    first_s: list[float] = []
    total_s: list[float] = []
    partials: list[int] = []
    try:
        core.ask(questions[0])  # loads the encoder and the model (a refused question would not)
        for question in questions:
            seen: list[float] = []
            started = time.perf_counter()
            core.ask(question, on_partial=lambda _text, seen=seen: seen.append(time.perf_counter()))
            total_s.append(time.perf_counter() - started)
            if seen:
                first_s.append(seen[0] - started)
                partials.append(len(seen))
    finally:
        core.close()
    print(f"machine: {machine()}")
    print(f"{len(questions)} questions, {len(first_s)} reached the generator (the rest were refused first)")
    print(f"first words:   {summary_ms(first_s)}")
    print(f"whole answer:  {summary_ms(total_s)}")
    print(f"pieces per answer: {sum(partials) / max(len(partials), 1):.0f} (the chat edits at most 1 per second)")


if __name__ == "__main__":
    main()
