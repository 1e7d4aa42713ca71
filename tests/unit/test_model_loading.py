"""Models load once per process, however many questions arrive together; close() closes what was opened."""

from __future__ import annotations

import threading
from pathlib import Path

from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from bot import metrics
from bot.app.settings import load_settings
from bot.core import RagCore
from bot.embedder import resolve_embedding_model
from tests.support.fake_llm import FakeLLM
from tests.support.fakeserver import LoopThread

QUESTIONS = 6


def loads(model: str) -> float:
    return metrics.MODEL_LOADS.labels(model)._value.get()


def tiny_causal_lm(target: Path) -> Path:
    """A real (randomly initialised) two-layer Llama saved to a local folder: loads in a second."""
    tokenizer = AutoTokenizer.from_pretrained(
        resolve_embedding_model("all-MiniLM-L6-v2"), model_input_names=["input_ids", "attention_mask"]
    )
    config = LlamaConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        pad_token_id=tokenizer.pad_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


def ask_together(core: RagCore, questions: list[str]) -> list[BaseException]:
    """Ask every question at the same moment from its own thread; the failures, if any."""
    start = threading.Barrier(len(questions))
    failures: list[BaseException] = []

    def ask(question: str) -> None:
        start.wait()
        try:
            core.ask(question)
        except BaseException as exc:  # collected and asserted on below
            failures.append(exc)

    threads = [threading.Thread(target=ask, args=(q,)) for q in questions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return failures


def test_questions_arriving_together_load_the_encoder_and_the_language_model_once(
    indexed_config: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("RAGBOT_GENERATOR", "transformers")
    monkeypatch.setenv("RAGBOT_GENERATOR_MODEL", str(tiny_causal_lm(tmp_path / "tiny-lm")))
    settings = load_settings(indexed_config)
    settings.generator.max_new_tokens = 4
    core = RagCore(settings)
    embedder_before, generator_before = loads("embedder"), loads("generator")
    try:
        failures = ask_together(core, [f"how many vacation days do we get? ({i})" for i in range(QUESTIONS)])
    finally:
        core.close()

    assert failures == []
    assert loads("embedder") - embedder_before == 1
    assert loads("generator") - generator_before == 1
    assert all(count == 1 for count in core.loads.values()), core.loads  # every part opened once
    assert {"store", "embedder", "generator"} <= set(core.loads)


def test_close_closes_the_openai_client_it_opened(indexed_config: Path, monkeypatch) -> None:
    loop = LoopThread()
    fake = FakeLLM("You get 28 days of vacation a year [1].")
    monkeypatch.setenv("RAGBOT_GENERATOR", "openai")
    monkeypatch.setenv("RAGBOT_GENERATOR_URL", loop.run(fake.start()) + "/v1")
    core = RagCore(load_settings(indexed_config))
    try:
        answer = core.ask("how many vacation days do we get?")
        client = core.generator._client  # the httpx.Client the generator opened
        assert not client.is_closed
        core.close()
    finally:
        loop.run(fake.stop())
        loop.stop()
    assert "28 days" in answer.text
    assert client.is_closed
