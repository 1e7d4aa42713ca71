"""The int8 encoder path: the transformers model exported to ONNX once, its weights quantised
dynamically to int8 (per channel), and run by ONNX Runtime, whose int8 kernels use AVX-512 VNNI
where the CPU has it (this project's 2-core AMD EPYC has it).

ONNX Runtime's offline BERT fusion before quantising (fused Attention, SkipLayerNorm, BiasGelu)
was tried and dropped: on this CPU it was 0.6x-0.9x the plain graph's speed in every interleaved
run (bench/embed_throughput.py, docs/benchmarks.md section 19); the session's own ENABLE_ALL
passes already fuse what pays here.

Building needs torch and transformers (the export) and happens once per model; the result is
cached under ``data_dir/models/`` and, for a model that lives outside the data dir, copied to the
user's shared cache (``$XDG_CACHE_HOME/ragbot``) so other data dirs skip the export. The cache key
holds the model's path and a cheap fingerprint of its files (size and mtime of the weights and
config.json): a model updated in place, or a data dir recreated at the same path, builds anew.
Running it needs only onnxruntime and numpy, so a process that finds the cached file
(``ragbot ask``) never imports torch. A cached file ORT can't load (truncated, from a newer ORT) is
deleted and rebuilt once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import ConfigError

__all__ = ["Int8Encoder", "int8_model_path", "cached_int8_model", "shared_cache_dir", "build_int8_model", "model_stamp"]

log = logging.getLogger(__name__)

# Part of the cache key: a file cached by an older recipe is not reused.
RECIPE = "v2"


class Int8Encoder:
    """Runs the encoder on a batch of token ids (numpy) and returns the last hidden state.

    The model file is built on first use when it is not cached yet (that step imports torch)."""

    def __init__(self, model_path: str, cache_dir: Path, threads: int | None, *, share: bool = True) -> None:
        """``share``: copy a new build to the user's shared cache (False for a model inside a data
        dir, e.g. a trained query encoder: another data dir never has the same one)."""
        try:
            import onnxruntime as ort
        except ImportError:
            raise ConfigError(
                'embedding.precision = "int8" needs ONNX Runtime: pip install onnxruntime onnx, '
                'or set precision = "fp32"'
            ) from None
        options = ort.SessionOptions()
        # ORT's own fusions (MatMulIntegerToFloat, LayerNorm, Gelu) and layout passes; its default, made explicit.
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:  # else ORT uses one thread per physical core
            options.intra_op_num_threads = threads
        # Idle threads sleep instead of spinning: on a CPU shared with other work (the indexer beside
        # the bot, CI neighbours) spinning threads steal the cores the forward pass needs
        # (bench/embed_throughput.py: ~1.4x at load average 9, within noise when idle).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")

        def open_session(path: Path) -> Any:
            return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

        self.session = _load_or_build(model_path, cache_dir, share, open_session)
        self.input_names = [i.name for i in self.session.get_inputs()]

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return self.session.run(None, {name: feeds[name] for name in self.input_names})[0]


def _load_or_build(model_path: str, cache_dir: Path, share: bool, open_session: Callable[[Path], Any]) -> Any:
    """A session on the cached file, else on a new build. A cached file that won't load (truncated
    by a crash, written by a newer ORT) is deleted and built again, once: it must not keep a
    server broken. Whatever still fails is a ConfigError that names the way out."""
    for _ in range(2):  # the data dir's copy, then the shared one
        path = cached_int8_model(model_path, cache_dir)
        if path is None:
            break
        try:
            return open_session(path)
        except Exception as exc:  # ORT raises its own exception types (InvalidProtobuf, Fail, ...)
            log.warning("the cached int8 encoder %s can't be loaded (%s); dropping it", path, _first_line(exc))
            path.unlink(missing_ok=True)
    try:
        path = build_int8_model(model_path, int8_model_path(model_path, cache_dir))
        session = open_session(path)
    except (OSError, ValueError):
        raise  # the model itself can't be read: the caller names it (a wrong path, a hub id offline)
    except Exception as exc:
        raise ConfigError(
            f"cannot build or load the int8 encoder for {model_path}: {_first_line(exc)}. "
            'Set embedding.precision = "fp32" (RAGBOT_EMBEDDING_PRECISION) for an index built with fp32, '
            "or check that onnx and onnxruntime install cleanly"
        ) from None
    if share:
        _share(path)
    return session


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def int8_model_path(model_path: str, cache_dir: Path) -> Path:
    """Where the int8 file for ``model_path`` is cached in ``cache_dir`` (it may not exist yet).

    The key holds the model's files' sizes and mtimes, not only its path: a model retrained or
    updated in place (``query-1`` again in a recreated data dir) must never reuse an old build."""
    key = hashlib.sha256(f"{os.path.realpath(model_path)}|{model_stamp(model_path)}|{RECIPE}".encode()).hexdigest()[:16]
    return cache_dir / f"encoder-{key}-int8.onnx"


def model_stamp(model_path: str) -> str:
    """Size and mtime_ns of the weights files and config.json: cheap (no hashing of 90 MB), and
    enough to notice any rewrite. Empty for a Hugging Face id (no folder on disk)."""
    root = Path(model_path)
    if not root.is_dir():
        return ""
    files = sorted(p for p in root.iterdir() if p.is_file() and (p.suffix in _WEIGHTS or p.name == "config.json"))
    return ";".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)


_WEIGHTS = (".safetensors", ".bin", ".pt", ".onnx")


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
    partial: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = _temp_file(target.parent, target.name)
        shutil.copyfile(path, partial)
        os.replace(partial, target)
    except OSError as exc:
        log.debug("int8 encoder not shared in %s: %s", target.parent, exc)
        if partial is not None:
            partial.unlink(missing_ok=True)


def _temp_file(folder: Path, prefix: str, suffix: str = "") -> Path:
    """A new, unique file in ``folder``: two threads or processes building at once never collide."""
    handle, name = tempfile.mkstemp(prefix=f"{prefix}.", suffix=suffix, dir=folder)
    os.close(handle)
    return Path(name)


# Loggers whose advice during an export is for model authors, not for ragbot's users ("" is the
# root logger: the quantiser calls logging.warning() directly).
_BUILD_LOGGERS = ("", "torch", "torch.onnx", "onnx", "onnxruntime", "onnxruntime.quantization")


class _QuietThread(logging.Filter):
    """Drops records below ERROR logged by one thread (the one building): other threads' warnings
    (a question, the scheduler) still get through while the export runs."""

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread != self.thread or record.levelno >= logging.ERROR


def build_int8_model(model_path: str, target: Path) -> Path:
    """Export and quantise ``model_path`` into ``target``; safe when two threads or processes race."""
    target.parent.mkdir(parents=True, exist_ok=True)
    exported = _temp_file(target.parent, target.stem, ".fp32.onnx")
    partial = _temp_file(target.parent, target.stem, ".int8.onnx")
    log.info("building the int8 encoder under %s (once per model)", target.parent)
    quiet, loggers = _QuietThread(), [logging.getLogger(name) for name in _BUILD_LOGGERS]
    try:
        for logger in loggers:
            logger.addFilter(quiet)
        with warnings.catch_warnings():  # the exporter's and quantiser's advice is for model authors
            for module in ("torch", "onnx", "onnxruntime", "transformers", __name__):  # ours: torch's, one level up
                warnings.filterwarnings("ignore", module=rf"{re.escape(module)}(\.|$)")
            _export(model_path, exported)
            _quantise(exported, partial)
        os.replace(partial, target)  # another process building it at the same time is harmless
    finally:
        for logger in loggers:
            logger.removeFilter(quiet)
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
