"""The embedder follows the all-MiniLM-L6-v2 recipe exactly (checked against sentence-transformers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.config import EmbeddingConfig
from bot.embedder import Embedder, resolve_embedding_model
from bot.errors import ConfigError

TEXTS = [
    "How do I roll back a deploy?",
    "Press Rollback on the deploy page in shipit.",
    "Expenses older than 90 days are not reimbursed. " * 20,
    "short",
]


def test_vectors_are_unit_length_and_in_input_order(embedder: Embedder) -> None:
    vectors = embedder.embed(TEXTS)

    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    alone = np.stack([embedder.embed_query(text) for text in TEXTS])
    # int8 (the CPU default) quantises activations per batch, so a text's vector moves a little
    # with its batch mates; each one is still its own text's vector, in input order.
    agreement = vectors @ alone.T
    assert list(agreement.argmax(axis=1)) == [0, 1, 2, 3] and agreement.diagonal().min() > 0.98
    fp32 = Embedder(EmbeddingConfig(precision="fp32"))
    np.testing.assert_allclose(fp32.embed(TEXTS)[0], fp32.embed_query(TEXTS[0]), atol=1e-5)


def test_matches_sentence_transformers_on_the_same_weights() -> None:
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(resolve_embedding_model("all-MiniLM-L6-v2"), device="cpu")
    expected = reference.encode(TEXTS, normalize_embeddings=True)
    fp32 = Embedder(EmbeddingConfig(precision="fp32"))  # the torch path; the default on a CPU is int8

    cosines = np.sum(fp32.embed(TEXTS) * expected, axis=1)

    assert cosines.min() > 0.999


def test_related_texts_are_closer_than_unrelated(embedder: Embedder) -> None:
    question, answer, other, _ = embedder.embed(TEXTS)
    assert question @ answer > question @ other + 0.2


def test_an_unknown_model_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot load embedding model"):
        Embedder(EmbeddingConfig(model=str(tmp_path / "no-such-model"))).embed(["x"])


def test_int8_path_stays_close_to_fp32_and_builds_its_model_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))  # no build shared by earlier tests
    int8 = Embedder(EmbeddingConfig(precision="int8"), cache_dir=tmp_path)
    fp32 = Embedder(EmbeddingConfig(precision="fp32"))
    texts = TEXTS + ["x " * 400]  # one text past the 256-token limit: truncated the same way

    cosines = np.sum(fp32.embed(texts) * int8.embed(texts), axis=1)

    assert cosines.min() > 0.98
    (built,) = tmp_path.glob("encoder-*-int8.onnx")
    stamp = built.stat().st_mtime_ns
    again = Embedder(EmbeddingConfig(precision="int8"), cache_dir=tmp_path)
    assert again.dimension == 384 and built.stat().st_mtime_ns == stamp  # reused, not rebuilt
    question, answer, other, _ = again.embed(TEXTS)
    assert question @ answer > question @ other + 0.2
    other_data_dir = tmp_path / "another-data-dir"  # e.g. every test's, or a second index
    Embedder(EmbeddingConfig(precision="int8"), cache_dir=other_data_dir).embed(["x"])
    assert not list(other_data_dir.glob("encoder-*"))  # the user cache's copy served it: no second build


def test_each_engine_gets_its_fastest_batch_size_unless_configured(tmp_path: Path) -> None:
    assert Embedder(EmbeddingConfig(precision="fp32")).batch_size == 8
    assert Embedder(EmbeddingConfig(precision="int8"), cache_dir=tmp_path).batch_size is None  # a token budget
    assert Embedder(EmbeddingConfig(precision="int8", batch_size=8), cache_dir=tmp_path).batch_size == 8
