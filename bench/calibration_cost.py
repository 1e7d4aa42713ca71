"""How long measuring an index's answer-or-refuse anchors takes (bot/calibration.py).

    .venv/bin/python bench/calibration_cost.py --python-data-dir DIR

The sample handbook is indexed into a temp dir; the Python docs index is read from DIR. Each
core answers one warm-up question first (models loaded), then ``anchors.calibrate(force=True)``
runs the 80 + 40 questions and records them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import REPO, indexed_handbook, machine  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python-config", type=Path, default=REPO / "samples" / "python-docs.toml")
    parser.add_argument("--python-data-dir", type=Path)
    args = parser.parse_args()
    from bot.app.settings import load_settings
    from bot.core import RagCore

    corpora = [("handbook", indexed_handbook("ragbot-calibration-"), None)]
    if args.python_data_dir:
        corpora.append(("python-docs", args.python_config, args.python_data_dir))
    report: dict[str, object] = {"machine": machine()}
    for name, config, data_dir in corpora:
        if data_dir:
            os.environ["RAGBOT_DATA_DIR"] = str(data_dir)
        core = RagCore(load_settings(config))
        try:
            core.ask("how do I get started")  # models loaded, caches warm
            started = time.perf_counter()
            anchors = core.anchors.calibrate(force=True)
            seconds = time.perf_counter() - started
        finally:
            core.close()
        report[name] = {"chunks": anchors.chunks if anchors else 0, "seconds": round(seconds, 2)}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
