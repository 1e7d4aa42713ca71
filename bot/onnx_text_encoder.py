"""Texts to unit vectors through an ONNX encoder, with the ``tokenizers`` library and numpy only.

This is the int8 path's whole runtime: no torch, no transformers, so a fresh ``ragbot ask`` pays
for neither import (seconds on a busy machine). It follows the all-MiniLM-L6-v2 recipe
(truncate, mean-pool over real tokens, L2-normalise), like the torch path in ``bot/embedder.py``.

Batches are cut by a token budget rather than a count: texts are sorted by length, so a batch
of short questions holds many and a batch of full 256-token chunks a few, and padding (wasted
compute) stays small.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["OnnxTextEncoder", "load_fast_tokenizer", "DEFAULT_TOKEN_BUDGET"]

# Padded tokens per forward pass: 4 full 256-token chunks, int8's best batch on this 2-core CPU
# (bench/embed_throughput.py; 2048 was 0.7x), and many more short texts (questions, answer units).
DEFAULT_TOKEN_BUDGET = 1024


def load_fast_tokenizer(model_path: str, fallback: Callable[[], Any]) -> Any:
    """The model's ``tokenizers.Tokenizer`` from its ``tokenizer.json``; ``fallback()`` (a
    transformers tokenizer) only when the folder has none, e.g. a Hugging Face id."""
    from tokenizers import Tokenizer

    path = Path(model_path) / "tokenizer.json"
    if path.is_file():
        return Tokenizer.from_file(str(path))
    return copy.deepcopy(fallback().backend_tokenizer)  # the same Rust tokenizer transformers wraps


class OnnxTextEncoder:
    """Encodes texts with ``run(ids, mask) -> last hidden state``; returns float32 unit vectors."""

    def __init__(
        self,
        tokenizer: Any,
        run: Callable[[np.ndarray, np.ndarray], np.ndarray],
        max_length: int,
        *,
        batch_size: int | None = None,
        token_budget: int = DEFAULT_TOKEN_BUDGET,
    ) -> None:
        self.tokenizer = copy.deepcopy(tokenizer)  # truncation and padding are set on our own copy
        self.tokenizer.no_padding()  # tokenizer.json files often pad to a fixed 128: we pad per batch
        self.tokenizer.enable_truncation(max_length)
        self.run = run
        self.batch_size = batch_size
        self.token_budget = token_budget

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]), reverse=True)
        out: np.ndarray | None = None
        for batch in self._batches(order, ids):
            vectors = self._encode([ids[i] for i in batch])
            if out is None:
                out = np.empty((len(ids), vectors.shape[1]), dtype=np.float32)
            out[batch] = vectors
        assert out is not None, "encode at least one text"
        return out

    def _batches(self, order: list[int], ids: list[list[int]]) -> list[list[int]]:
        """Longest first; each batch as many texts as fit the budget at its longest one's length."""
        batches, start = [], 0
        while start < len(order):
            size = self.batch_size or max(1, self.token_budget // max(1, len(ids[order[start]])))
            batches.append(order[start : start + size])
            start += size
        return batches

    def _encode(self, batch: list[list[int]]) -> np.ndarray:
        width = max(len(row) for row in batch)
        ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for r, row in enumerate(batch):
            ids[r, : len(row)] = row
            mask[r, : len(row)] = 1
        hidden = self.run(ids, mask)
        weights = mask[..., None].astype(np.float32)
        vectors = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
        return (vectors / norms).astype(np.float32)
