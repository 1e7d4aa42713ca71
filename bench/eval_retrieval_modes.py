"""Ranking by each half and by their fusion, on both corpora, in one run.

    .venv/bin/ragbot --config samples/python-docs.toml index       # once: the Python docs index
    .venv/bin/python bench/eval_retrieval_modes.py [--python-data-dir DIR]

Modes (retrieval.fusion): ``dense`` (MiniLM cosine), ``keywords`` (BM25-style sparse vectors with
Qdrant's IDF modifier, alone), ``rrf`` (both, reciprocal-rank fused in Qdrant), ``identifiers``
(dense, fused with keywords only for questions that name identifiers), ``weighted@w`` (reciprocal
rank with the keyword half's vote scaled by w, fused in Python). Answerable questions of
the eval and tuning sets of each corpus; the same index for every mode.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import REPO, indexed_handbook, machine  # noqa: E402

MODES = ("dense", "keywords", "rrf", "identifiers", "weighted@0.25", "weighted@0.5", "weighted@0.75")
_DEPTH = 10


def ranks(config: Path, files: list[Path], mode: str) -> list[int | None]:
    from bot.app.settings import load_settings
    from bot.core import RagCore
    from bot.evaluation import load_cases
    from bot.retriever import Retriever

    settings = load_settings(config)
    core = RagCore(settings)
    try:
        fusion, _, weight = mode.partition("@")
        retriever = Retriever(
            core.store,
            core.embedder,
            hybrid=True,
            neighbours=0,
            fusion=fusion,
            keyword_weight=float(weight or 0.5),  # type: ignore[arg-type]
        )
        out: list[int | None] = []
        for path in files:
            for case in load_cases(path):
                if not case.answerable:
                    continue
                urls = [s.best.url.split("#")[0] for s in retriever.retrieve(case.question, _DEPTH)]
                expected = {u.split("#")[0] for u in case.expected_urls}
                out.append(next((i + 1 for i, url in enumerate(urls) if url in expected), None))
        return out
    finally:
        core.close()


def metrics(found: list[int | None]) -> dict[str, float]:
    return {
        "hit@1": round(sum(r == 1 for r in found) / len(found), 3),
        "hit@5": round(sum(r is not None and r <= 5 for r in found) / len(found), 3),
        "mrr@10": round(statistics.fmean(1 / r if r else 0.0 for r in found), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python-config", type=Path, default=REPO / "samples" / "python-docs.toml")
    parser.add_argument("--python-data-dir", type=Path, help="RAGBOT_DATA_DIR of the Python docs index")
    args = parser.parse_args()
    samples = REPO / "samples"
    corpora = {
        "handbook": (indexed_handbook("ragbot-modes-"), samples / "eval.jsonl", samples / "tune-handbook.jsonl"),
        "python-docs": (args.python_config, samples / "eval-python-docs.jsonl", samples / "tune-python-docs.jsonl"),
    }
    report: dict[str, object] = {"machine": machine()}
    for name, (config, eval_file, tune_file) in corpora.items():
        if name == "python-docs" and args.python_data_dir:
            os.environ["RAGBOT_DATA_DIR"] = str(args.python_data_dir)
        else:
            os.environ.pop("RAGBOT_DATA_DIR", None)
        for split, path in (("eval", eval_file), ("tune", tune_file)):
            report[f"{name} {split}"] = {mode: metrics(ranks(config, [path], mode)) for mode in MODES}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
