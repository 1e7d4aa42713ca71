"""Precision and recall of auto mode's question detector (bot/question_detector.py) on the
labelled channel messages in samples/channel-messages.jsonl.

The rules were written looking only at the ``tune`` split; the ``report`` split is what
docs/benchmarks.md quotes. The obvious alternative, "ends with a question mark", is measured in
the same run. ``--misses`` lists every message the detector got wrong, with its reason.

    .venv/bin/python bench/question_detector.py [--split report|tune|all] [--json] [--misses]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.question_detector import detect  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "channel-messages.jsonl"


def load(split: str, path: Path = SAMPLES) -> list[dict[str, str]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if split == "all" or r["split"] == split]


def score(rows: list[dict[str, str]], predict: Callable[[str], bool]) -> dict[str, float]:
    tp = fp = fn = tn = 0
    for row in rows:
        said, truth = predict(row["text"]), row["label"] == "question"
        tp += said and truth
        fp += said and not truth
        fn += truth and not said
        tn += not said and not truth
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {"messages": len(rows), "tp": tp, "fp": fp, "fn": fn, "tn": tn, "precision": precision, "recall": recall}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=["report", "tune", "all"], default="report")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--misses", action="store_true")
    args = parser.parse_args(argv)
    rows = load(args.split)
    results = {
        "detector": score(rows, lambda t: detect(t).question),
        "question_mark_only": score(rows, lambda t: t.strip().endswith("?")),
    }
    if args.json:
        print(json.dumps({"split": args.split, **results}))
    else:
        print(f"split={args.split}: {len(rows)} messages")
        for name, r in results.items():
            line = f"precision {r['precision']:.3f}  recall {r['recall']:.3f}  (fp {r['fp']}, fn {r['fn']})"
            print(f"  {name:20s} {line}")
    if args.misses:
        for row in rows:
            verdict = detect(row["text"])
            if verdict.question != (row["label"] == "question"):
                print(f"  miss [{row['label']}] {row['text']!r}: {verdict.reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
