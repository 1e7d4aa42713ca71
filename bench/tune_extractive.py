"""Sweep the extractive answer's weights on the tuning sets only (never the eval sets).

    .venv/bin/python bench/tune_extractive.py --python-data-dir DIR

Prints answer_contains and cites_expected_page on samples/tune-handbook.jsonl and
samples/tune-python-docs.jsonl for each setting; unit vectors are cached across settings, so
a sweep costs little more than one pass.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import REPO, indexed_handbook  # noqa: E402

GRID = {
    "_RANK_PRIOR": [0.02],
    "_NEIGHBOUR_WEIGHT": [0.15],
    "_SPECIFIC_WEIGHT": [0.06],
    "_RELATIVE_CUTOFF": [0.85],
    "_NAME_WEIGHT": [0.0, 0.1, 0.2, 0.3, 0.4, 0.6],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python-config", type=Path, default=REPO / "samples" / "python-docs.toml")
    parser.add_argument("--python-data-dir", type=Path)
    args = parser.parse_args()
    from bot.app.settings import load_settings
    from bot.core import RagCore
    from bot.evaluation import evaluate, load_cases, summarise
    from bot.generate import extractive

    cores = {"handbook": RagCore(load_settings(indexed_handbook("ragbot-tune-")))}
    if args.python_data_dir:
        os.environ["RAGBOT_DATA_DIR"] = str(args.python_data_dir)
    cores["python-docs"] = RagCore(load_settings(args.python_config))
    cases = {
        "handbook": [c for c in load_cases(REPO / "samples" / "tune-handbook.jsonl") if c.answerable],
        "python-docs": [c for c in load_cases(REPO / "samples" / "tune-python-docs.jsonl") if c.answerable],
    }
    for values in itertools.product(*GRID.values()):
        setting = dict(zip(GRID, values))
        for name, value in setting.items():
            setattr(extractive, name, value)
        row: dict[str, object] = {"setting": setting}
        for corpus, core in cores.items():
            summary = summarise(evaluate(core, cases[corpus]))
            row[corpus] = {k: summary[k] for k in ("answer_contains", "cites_expected_page", "false_refusals")}
        print(json.dumps(row), flush=True)
    for core in cores.values():
        core.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
