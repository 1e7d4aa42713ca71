"""`ragbot train --generator`: a real (tiny) LoRA run on Gemma 3 270M, on the sample handbook."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.processes import only_json, run_cli
from tests.support.project import REPO, SAMPLES, handbook_config

TRAINING = """[generator]
backend = "transformers"

[training]
threads = 1
epochs = 1
batch_size = 8
corpus_pairs = 20
heldout_max = 10
heldout_fraction = 0.3
doc2query = 2
generator_steps = 3
"""


@pytest.mark.slow
def test_generator_lora_trains_and_is_kept_as_a_version(tmp_path: Path) -> None:
    config = handbook_config(tmp_path, SAMPLES, extra=TRAINING)
    qa = tmp_path / "qa.jsonl"
    qa.write_text("\n".join((REPO / "samples" / "eval.jsonl").read_text().splitlines()[:10]) + "\n")
    assert run_cli("--config", str(config), "index").returncode == 0

    result = run_cli("--config", str(config), "train", "--generator", "--qa", str(qa), "--json", timeout=1200)

    assert result.returncode == 0, result.stderr
    report = only_json(result.stdout)
    models = tmp_path / "data" / "models"
    meta = json.loads((models / report["model"] / "meta.json").read_text())
    generator = meta["generator"]
    assert generator["trained"] and generator["steps"] == 3 and generator["model"] == "generator-1"
    loss = generator["heldout_loss_per_token"]
    assert loss["before"] > 0 and loss["after"] > 0
    assert (models / "generator-1" / "adapter" / "adapter_config.json").is_file()
    active = json.loads((models / "active.json").read_text()) if (models / "active.json").exists() else {}
    assert (active.get("generator") == "generator-1") == (loss["after"] < loss["before"])
    assert meta["methods"].get("doc2query", {}).get("made", 0) <= 2


def test_generator_training_needs_the_transformers_backend(tmp_path: Path) -> None:
    config = handbook_config(tmp_path, SAMPLES)

    result = run_cli("--config", str(config), "train", "--generator")

    assert result.returncode == 2
    assert 'set [generator] backend = "transformers"' in result.stderr
