"""Retrieval quality on both eval sets: dense vs hybrid retrieval, fp32 vs int8 encoder; and the
"not in the docs" threshold sweep.

    .venv/bin/ragbot --config samples/python-docs.toml index
    RAGBOT_DATA_DIR=.ragbot-python-docs-int8 RAGBOT_EMBEDDING_PRECISION=int8 \\
        .venv/bin/ragbot --config samples/python-docs.toml index
    .venv/bin/python bench/eval_precision.py

The sample handbook is indexed here, once per precision; the Python docs indexes are the two
built by the commands above. Each index is queried with the encoder that built it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import REPO, indexed_handbook, machine  # noqa: E402

THRESHOLDS = [0.25, 0.28, 0.30, 0.32, 0.34, 0.36, 0.38, 0.40, 0.42, 0.45]


def run(config: Path, data_dir: Path | None, precision: str, hybrid: bool, cases_file: Path):  # type: ignore[no-untyped-def]
    from bot.app.settings import load_settings
    from bot.core import RagCore
    from bot.evaluation import evaluate, load_cases, summarise

    os.environ["RAGBOT_EMBEDDING_PRECISION"] = precision
    if data_dir is not None:
        os.environ["RAGBOT_DATA_DIR"] = str(data_dir)
    else:
        os.environ.pop("RAGBOT_DATA_DIR", None)
    settings = load_settings(config)
    settings.retrieval.hybrid = hybrid
    core = RagCore(settings)
    try:
        results = evaluate(core, load_cases(cases_file))
    finally:
        core.close()
    return summarise(results), results


def sweep(results) -> list[str]:  # type: ignore[no-untyped-def]
    """Refusal accuracy (unanswerable refused) vs false refusals (answerable refused) per threshold."""
    lines = []
    answerable = [r.top_score for r in results if r.case.answerable]
    unanswerable = [r.top_score for r in results if not r.case.answerable]
    for t in THRESHOLDS:
        refused_ok = sum(s < t for s in unanswerable) / len(unanswerable)
        false_refusals = sum(s < t for s in answerable) / len(answerable)
        lines.append(f"| {t:.2f} | {refused_ok:.2f} | {false_refusals:.2f} |")
    lines.append(
        f"answerable top scores: min {min(answerable):.3f}, median {sorted(answerable)[len(answerable) // 2]:.3f}; "
        f"unanswerable: max {max(unanswerable):.3f}, median {sorted(unanswerable)[len(unanswerable) // 2]:.3f}"
    )
    return lines


def main() -> None:
    print(f"machine: {machine()}")
    keys = ("hit@1", "hit@5", "mrr@10", "answer_contains", "refusal_accuracy", "false_refusals", "latency_ms_p50")
    print("| eval set | encoder | retrieval | " + " | ".join(keys) + " |")
    print("|---|---|---|" + "---|" * len(keys))
    sweeps = {}
    for precision in ("fp32", "int8"):
        os.environ["RAGBOT_EMBEDDING_PRECISION"] = precision  # the index is built with this encoder
        os.environ.pop("RAGBOT_DATA_DIR", None)
        config = indexed_handbook(f"eval-{precision}-")
        for hybrid in (False, True):
            summary, _ = run(config, None, precision, hybrid, REPO / "samples" / "eval.jsonl")
            mode = "hybrid" if hybrid else "dense"
            print(f"| sample handbook | {precision} | {mode} | " + " | ".join(str(summary.get(k)) for k in keys) + " |")
    python_config = REPO / "samples" / "python-docs.toml"
    data_dirs = {"fp32": REPO / ".ragbot-python-docs", "int8": REPO / ".ragbot-python-docs-int8"}
    for precision, data_dir in data_dirs.items():
        for hybrid in (False, True):
            mode = "hybrid" if hybrid else "dense"
            summary, results = run(
                python_config, data_dir, precision, hybrid, REPO / "samples" / "eval-python-docs.jsonl"
            )
            print(
                f"| Python 3.11 docs | {precision} | {mode} | " + " | ".join(str(summary.get(k)) for k in keys) + " |"
            )
            sweeps[f"{precision} {mode}"] = sweep(results)
            misses = [r.case.question for r in results if r.case.answerable and (r.rank is None or r.rank > 5)]
            print(f"<!-- {precision} {mode} misses at 5: {json.dumps(misses)} -->", flush=True)
    for precision, lines in sweeps.items():
        print(f"\nthreshold sweep, Python docs, {precision}:\n| min_score | refusal accuracy | false refusals |")
        print("|---|---|---|")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
