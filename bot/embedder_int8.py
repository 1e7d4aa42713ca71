"""The int8 encoder path: the transformers model exported to ONNX once, quantised dynamically
(int8 weights, per channel) and run by ONNX Runtime, which uses AVX-512 VNNI where the CPU has it.

The quantised file is cached under ``data_dir/models/``; building it takes a few seconds and
happens once per model.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import ConfigError

__all__ = ["Int8Encoder"]

log = logging.getLogger(__name__)


class Int8Encoder:
    """Runs the encoder on a batch of tokenizer output (numpy) and returns the last hidden state."""

    def __init__(self, model_path: str, input_names: list[str], cache_dir: Path, threads: int | None) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise ConfigError("embedding.precision = \"int8\" needs ONNX Runtime: pip install 'ragbot[int8]'") from None
        self.input_names = input_names
        path = _quantised_model(model_path, input_names, cache_dir)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, encoded: dict[str, Any]) -> np.ndarray:
        feeds = {name: np.asarray(encoded[name], dtype=np.int64) for name in self.input_names}
        return self.session.run(None, feeds)[0]


def _quantised_model(model_path: str, input_names: list[str], cache_dir: Path) -> Path:
    key = hashlib.sha256(f"{os.path.realpath(model_path)}|{','.join(input_names)}".encode()).hexdigest()[:16]
    target = cache_dir / f"encoder-{key}-int8.onnx"
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    exported = cache_dir / f"encoder-{key}-fp32.{os.getpid()}.onnx"
    partial = cache_dir / f"encoder-{key}-int8.{os.getpid()}.onnx"
    log.info("building the int8 encoder under %s (once per model)", cache_dir)
    root = logging.getLogger()
    level = root.level
    try:
        with warnings.catch_warnings():  # the exporter's and quantiser's advice is for model authors
            warnings.simplefilter("ignore")
            root.setLevel(logging.ERROR)
            _export(model_path, input_names, exported)
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(exported), str(partial), weight_type=QuantType.QInt8, per_channel=True)
        os.replace(partial, target)  # another process building it at the same time is harmless
    finally:
        root.setLevel(level)
        for leftover in (exported, partial):
            leftover.unlink(missing_ok=True)
    return target


def _export(model_path: str, input_names: list[str], path: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    # Eager attention traces to plain ops that handle padding masks exactly; SDPA does not export cleanly.
    model = AutoModel.from_pretrained(model_path, attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    sample = tokenizer(
        ["a short one", "a longer sample sentence so that the batch needs padding"], padding=True, return_tensors="pt"
    )

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(input_names, inputs))).last_hidden_state

    axes = {name: {0: "batch", 1: "tokens"} for name in [*input_names, "last_hidden_state"]}
    with torch.inference_mode():
        torch.onnx.export(
            LastHiddenState(),
            tuple(sample[name] for name in input_names),
            str(path),
            input_names=input_names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
