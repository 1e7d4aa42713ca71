"""Generators compared on both eval sets: extractive vs transformers (Gemma 3 270M from the PyPI
GGUF package), each with and without neighbour expansion; answer-contains, citations, refusals
(hallucination on unanswerable questions), latency.

    .venv/bin/ragbot --config samples/python-docs.toml index    # once, for the Python docs set
    .venv/bin/python bench/eval_generators.py [--sets handbook,python] [--generators extractive,transformers]

Every configuration answers the same questions against the same index, one after the other.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import PYTHON_DOCS, REPO, indexed_handbook, machine  # noqa: E402

METRICS = [
    "answer_contains",
    "cites_expected_page",
    "citation_validity",
    "refusal_accuracy",
    "false_refusals",
    "latency_ms_p50",
    "latency_ms_p95",
]


def run(config: Path, cases_file: Path, backend: str, neighbours: int) -> dict:
    from bot.app.settings import load_settings
    from bot.core import RagCore
    from bot.evaluation import evaluate, load_cases, summarise

    settings = load_settings(config)
    settings.generator.backend = backend
    settings.retrieval.neighbours = neighbours
    core = RagCore(settings)
    cases = load_cases(cases_file)
    try:
        core.ask(cases[0].question)  # loads the encoder and the model (a refused question would not)
        results = evaluate(core, cases)
    finally:
        core.close()
    hallucinated = [r for r in results if not r.case.answerable and r.answered]
    summary = summarise(results)
    summary["unanswerable_answered"] = [f"{r.case.question} -> {r.answer[:120]}" for r in hallucinated]
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="handbook,python")
    parser.add_argument("--generators", default="extractive,transformers")
    parser.add_argument("--neighbours", default="0,1")
    parser.add_argument("--json", type=Path, help="also write every summary here")
    args = parser.parse_args()
    sets = {
        "handbook": (indexed_handbook("ragbot-gen-"), REPO / "samples" / "eval.jsonl"),
        "python": (REPO / "samples" / "python-docs.toml", REPO / "samples" / "eval-python-docs.jsonl"),
    }
    chosen = [s for s in args.sets.split(",") if s != "python" or PYTHON_DOCS.is_dir()]
    print(f"# {machine()}\n")
    print("| set | generator | neighbours | " + " | ".join(METRICS) + " |")
    print("|---" * (len(METRICS) + 3) + "|")
    everything = {}
    for name in chosen:
        config, cases = sets[name]
        for backend in args.generators.split(","):
            for neighbours in (int(n) for n in args.neighbours.split(",")):
                started = time.perf_counter()
                summary = run(config, cases, backend, neighbours)
                summary["wall_s"] = round(time.perf_counter() - started, 1)
                everything[f"{name}/{backend}/n{neighbours}"] = summary
                values = " | ".join("n/a" if summary[m] is None else f"{summary[m]:g}" for m in METRICS)
                print(f"| {name} | {backend} | {neighbours} | {values} |", flush=True)
    print()
    for key, summary in everything.items():
        for line in summary["unanswerable_answered"]:
            print(f"- {key}: answered an unanswerable question: {line}")
    if args.json:
        args.json.write_text(json.dumps(everything, indent=2))


if __name__ == "__main__":
    main()
