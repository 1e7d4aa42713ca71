"""What matching code names to the question's words adds to answer-unit scoring, per question.

    .venv/bin/python bench/name_match_cost.py [--pages 60]

Units come from Python 3.11 doc pages (python3.11-doc), 30 per question as the extractive
generator reads them (3 sources x 2 chunks); questions are the Python tuning set's. The name
match (bot/names.py) is timed against the whole-word coverage the ranker already computed for
every unit, in the same run, so machine load lands on both alike.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import REPO, machine  # noqa: E402

DOCS = Path("/usr/share/doc/python3.11/html/library")
UNITS_PER_QUESTION = 30
BEFORE = "whole-word coverage (before)"
ADDED = "code-name match (added)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from bot.names import _spell, name_coverage
    from bot.terms import content_terms, coverage
    from bot.units import answer_units
    from indexer.parse_html import parse_html

    units = [
        unit.text
        for page in sorted(DOCS.glob("*.html"))[: args.pages]
        for section in parse_html(page.read_bytes(), page.stem).sections
        for unit in answer_units(section.text)
    ]
    questions = [
        json.loads(line)["question"] for line in (REPO / "samples" / "tune-python-docs.jsonl").read_text().splitlines()
    ]
    timings: dict[str, list[float]] = {BEFORE: [], ADDED: []}
    for _ in range(args.rounds):
        _spell.cache_clear()  # every round pays for its own name splitting
        for i, question in enumerate(questions):
            terms = content_terms(question)
            batch = [units[(i * UNITS_PER_QUESTION + j) % len(units)] for j in range(UNITS_PER_QUESTION)]
            for label, score in ((BEFORE, coverage), (ADDED, name_coverage)):
                started = time.perf_counter()
                for text in batch:
                    score(terms, text)
                timings[label].append((time.perf_counter() - started) * 1000)
    print(f"machine: {machine()}; {len(units)} units from {args.pages} pages, {len(questions)} questions")
    for label, values in timings.items():
        values.sort()
        p50, p95 = values[len(values) // 2], values[int(len(values) * 0.95)]
        print(f"{label}: p50 {p50:.2f} ms, p95 {p95:.2f} ms per question")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
