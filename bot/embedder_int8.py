"""The int8 encoder path: the transformers model exported to ONNX once, its weights quantised
dynamically to int8 (per channel), and run by ONNX Runtime, whose int8 kernels use AVX-512 VNNI
where the CPU has it (this project's 2-core AMD EPYC has it).

ONNX Runtime's offline BERT fusion before quantising (fused Attention, SkipLayerNorm, BiasGelu)
was tried and dropped: on this CPU it was 0.6x-0.9x the plain graph's speed in every interleaved
run (bench/embed_throughput.py, docs/benchmarks.md section 19); the session's own ENABLE_ALL
passes already fuse what pays here.

Building needs torch and transformers (the export) and happens once per model; the result is
cached under ``data_dir/models/``. Running it needs only onnxruntime and numpy, so a process that
finds the cached file (``ragbot ask``) never imports torch.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import ConfigError

__all__ = ["Int8Encoder", "int8_model_path", "cached_int8_model", "shared_cache_dir", "build_int8_model"]

log = logging.getLogger(__name__)

# Part of the cache key: a file cached by an older recipe is not reused.
RECIPE = "v2"


class Int8Encoder:
    """Runs the encoder on a batch of token ids (numpy) and returns the last hidden state.

    The model file is built on first use when it is not cached yet (that step imports torch)."""

    def __init__(self, model_path: str, cache_dir: Path, threads: int | None) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise ConfigError(
                'embedding.precision = "int8" needs ONNX Runtime: pip install onnxruntime onnx, '
                'or set precision = "fp32"'
            ) from None
        path = cached_int8_model(model_path, cache_dir)
        if path is None:
            path = build_int8_model(model_path, int8_model_path(model_path, cache_dir))
            _share(path)
        options = ort.SessionOptions()
        # ORT's own fusions (MatMulIntegerToFloat, LayerNorm, Gelu) and layout passes; its default, made explicit.
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:  # else ORT uses one thread per physical core
            options.intra_op_num_threads = threads
        # Idle threads sleep instead of spinning: on a CPU shared with other work (the indexer beside
        # the bot, CI neighbours) spinning threads steal the cores the forward pass needs
        # (bench/embed_throughput.py: ~1.4x at load average 9, within noise when idle).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return self.session.run(None, {name: feeds[name] for name in self.input_names})[0]


def int8_model_path(model_path: str, cache_dir: Path) -> Path:
    """Where the int8 file for ``model_path`` is cached in ``cache_dir`` (it may not exist yet)."""
    key = hashlib.sha256(f"{os.path.realpath(model_path)}|{RECIPE}".encode()).hexdigest()[:16]
    return cache_dir / f"encoder-{key}-int8.onnx"


def shared_cache_dir() -> Path:
    """The user's cache (``$XDG_CACHE_HOME/ragbot``): the int8 file depends on the model only, so
    every data dir on the machine (and every test's) reuses one build instead of a 10-20 s export."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ragbot"


def cached_int8_model(model_path: str, cache_dir: Path) -> Path | None:
    """The int8 file already built for ``model_path``: in ``cache_dir``, else in the shared cache."""
    for folder in (cache_dir, shared_cache_dir()):
        path = int8_model_path(model_path, folder)
        if path.exists():
            return path
    return None


def _share(path: Path) -> None:
    """Copy a new build into the shared cache; a read-only home (a container) just skips it."""
    target = shared_cache_dir() / path.name
    if target == path or target.exists():
        return
    partial = target.with_name(f"{target.name}.{os.getpid()}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, partial)
        os.replace(partial, target)
    except OSError as exc:
        log.debug("int8 encoder not shared in %s: %s", target.parent, exc)
        partial.unlink(missing_ok=True)


def build_int8_model(model_path: str, target: Path) -> Path:
    """Export and quantise ``model_path`` into ``target``; safe when two processes race."""
    target.parent.mkdir(parents=True, exist_ok=True)
    stem = target.parent / f"{target.stem}.{os.getpid()}"
    exported, partial = Path(f"{stem}.fp32.onnx"), Path(f"{stem}.int8.onnx")
    log.info("building the int8 encoder under %s (once per model)", target.parent)
    root = logging.getLogger()
    level = root.level
    try:
        with warnings.catch_warnings():  # the exporter's and quantiser's advice is for model authors
            warnings.simplefilter("ignore")
            root.setLevel(logging.ERROR)
            _export(model_path, exported)
            _quantise(exported, partial)
        os.replace(partial, target)  # another process building it at the same time is harmless
    finally:
        root.setLevel(level)
        for leftover in (exported, partial):
            leftover.unlink(missing_ok=True)
            Path(f"{leftover}.data").unlink(missing_ok=True)
    return target


def _quantise(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Ops in the com.microsoft domain (a fused graph: bench/embed_throughput.py) can't be typed by
    # shape inference: the default type tells the quantiser their outputs are float.
    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def _export(model_path: str, path: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    # Eager attention traces to plain ops that handle padding masks exactly; SDPA does not export cleanly.
    model = AutoModel.from_pretrained(model_path, attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    input_names = list(tokenizer.model_input_names)
    sample = tokenizer(
        ["a short one", "a longer sample sentence so that the batch needs padding"], padding=True, return_tensors="pt"
    )

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(input_names, inputs))).last_hidden_state

    axes: dict[str, Any] = {name: {0: "batch", 1: "tokens"} for name in [*input_names, "last_hidden_state"]}
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
