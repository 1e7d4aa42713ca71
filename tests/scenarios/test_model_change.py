"""An embedding model whose vectors don't fit the existing collection is refused, index intact."""

from __future__ import annotations

from pathlib import Path

from transformers import AutoTokenizer, BertConfig, BertModel

from bot.embedder import resolve_embedding_model
from tests.support.processes import only_json, run_cli
from tests.support.project import SAMPLES, handbook_config


def tiny_local_model(target: Path, hidden_size: int = 32) -> Path:
    """A real (randomly initialised) small BERT saved to a local folder: a configurable local model."""
    tokenizer = AutoTokenizer.from_pretrained(resolve_embedding_model("all-MiniLM-L6-v2"))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
    )
    BertModel(config).save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


def test_switching_to_a_model_of_another_dimension_is_refused(tmp_path: Path) -> None:
    config = handbook_config(tmp_path, SAMPLES)
    assert run_cli("--config", str(config), "index").returncode == 0
    env = {"RAGBOT_EMBEDDING_MODEL": str(tiny_local_model(tmp_path / "tiny-model"))}

    index = run_cli("--config", str(config), "index", "--json", env=env)
    ask = run_cli("--config", str(config), "ask", "how do I deploy?", env=env)

    assert index.returncode != 0
    error = only_json(index.stdout)["sources"][0]["errors"][0]
    assert "384-d" in error and "32-d" in error
    assert ask.returncode == 2 and "384-d" in ask.stderr
    status = only_json(run_cli("--config", str(config), "status", "--json").stdout)
    assert status["sources"][0]["documents"] == len(list(SAMPLES.iterdir())), "the index is untouched"


def test_a_local_model_folder_can_build_its_own_index(tmp_path: Path) -> None:
    config = handbook_config(tmp_path, SAMPLES)
    env = {"RAGBOT_EMBEDDING_MODEL": str(tiny_local_model(tmp_path / "tiny-model"))}

    result = run_cli("--config", str(config), "index", "--json", env=env)

    assert result.returncode == 0, result.stderr
    assert only_json(result.stdout)["sources"][0]["added"] == len(list(SAMPLES.iterdir()))


def test_switching_to_another_model_of_the_same_dimension_is_refused(tmp_path: Path) -> None:
    config = handbook_config(tmp_path, SAMPLES)
    assert run_cli("--config", str(config), "index").returncode == 0
    other = tiny_local_model(tmp_path / "other-384", hidden_size=384)  # 384-d, like the default model
    env = {"RAGBOT_EMBEDDING_MODEL": str(other)}

    ask = run_cli("--config", str(config), "ask", "how do I deploy?", env=env)
    index = run_cli("--config", str(config), "index", "--json", env=env)

    assert ask.returncode == 2, ask.stdout
    assert "built with the embedding model 'all-MiniLM-L6-v2'" in ask.stderr and "RAGBOT_DATA_DIR" in ask.stderr
    assert index.returncode != 0 and "all-MiniLM-L6-v2" in only_json(index.stdout)["sources"][0]["errors"][0]
    status = only_json(run_cli("--config", str(config), "status", "--json").stdout)
    assert status["indexed_with"] == "all-MiniLM-L6-v2"
    assert status["sources"][0]["documents"] == len(list(SAMPLES.iterdir())), "the index is untouched"
