"""Embedding throughput: ragbot's encoders vs sentence-transformers' encode, same chunks, same run.

.venv/bin/python bench/embed_throughput.py [--chunks 800] [--rounds 3] [--budget-sweep] [--only int8 ...]

Rows, each against sentence-transformers fp32 at batch 32 (the obvious alternative):
- ragbot fp32 (torch, batch 8), the path a GPU or ``precision = "fp32"`` takes;
- ONNX fp32 with ONNX Runtime's offline BERT fusion: what the graph alone gives, without int8;
- int8 at batch 4 (the batching int8 had before token budgets);
- int8 of the fused graph (fusion before quantising: tried, dropped);
- int8 with token-budget batches: ``precision = "auto"`` on a CPU (the default), with idle
  threads sleeping (ours) and spinning (ORT's default), and at one thread.
Min and mean cosine are against sentence-transformers' vectors of the same chunks.
``--budget-sweep`` adds chunks/s per token budget for the default int8 encoder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import corpus_chunks, machine  # noqa: E402

BASELINE = "sentence-transformers fp32, batch 32"


def timed(encoders: dict[str, Callable[[list[str]], np.ndarray]], texts: list[str], rounds: int):  # type: ignore[no-untyped-def]
    """Median chunks/s per encoder, rounds interleaved so machine noise hits all alike; and outputs."""
    for encode in encoders.values():
        encode(texts[:8])  # load (and, for int8, build the quantised model once)
    seconds: dict[str, list[float]] = {name: [] for name in encoders}
    outputs = {}
    for _ in range(rounds):
        for name, encode in encoders.items():
            started = time.perf_counter()
            outputs[name] = encode(texts)
            seconds[name].append(time.perf_counter() - started)
    return {name: len(texts) / statistics.median(values) for name, values in seconds.items()}, outputs


def onnx_encoder(path: Path, model_path: str, spin: bool = False, **batching: int) -> Callable[[list[str]], np.ndarray]:
    """An ONNX file run the way the int8 path runs (bot/onnx_text_encoder.py), for the variants."""
    import onnxruntime as ort

    from bot.onnx_text_encoder import OnnxTextEncoder, load_fast_tokenizer

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]

    def run(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return session.run(None, {n: feeds[n] for n in names})[0]

    tokenizer = load_fast_tokenizer(model_path, lambda: None)
    return OnnxTextEncoder(tokenizer, run, 256, **batching)


def fuse(model_path: str, exported: Path, fused: Path) -> None:
    """ONNX Runtime's offline BERT fusion (Attention, SkipLayerNorm, BiasGelu): the route tried and dropped."""
    import json

    from onnxruntime.transformers.optimizer import optimize_model

    config = json.loads((Path(model_path) / "config.json").read_text(encoding="utf-8"))
    heads, hidden = int(config["num_attention_heads"]), int(config["hidden_size"])
    optimize_model(
        str(exported), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1
    ).save_model_to_file(str(fused))


def variants(model_path: str, folder: Path) -> tuple[Path, Path]:
    """The ONNX fp32 graph fused, and that fused graph quantised (fusion before int8)."""
    from bot.embedder_int8 import _export, _quantise

    exported, fused, fused_int8 = folder / "fp32.onnx", folder / "fused.onnx", folder / "fused-int8.onnx"
    _export(model_path, exported)
    fuse(model_path, exported, fused)
    _quantise(fused, fused_int8)
    return fused, fused_int8


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=800)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--budget-sweep", action="store_true")
    parser.add_argument("--only", nargs="*", metavar="TEXT", help="time only rows whose name contains one of these")
    args = parser.parse_args()

    import onnxruntime
    from sentence_transformers import SentenceTransformer

    from bot.config import EmbeddingConfig
    from bot.embedder import Embedder, resolve_embedding_model

    model_path = resolve_embedding_model("all-MiniLM-L6-v2")
    texts = corpus_chunks(args.chunks)
    folder = Path(tempfile.mkdtemp(prefix="embed-bench-"))
    fused, fused_int8 = variants(model_path, folder)
    reference = SentenceTransformer(model_path, device="cpu")
    fp32 = Embedder(EmbeddingConfig(precision="fp32"))
    default = Embedder(EmbeddingConfig(), cache_dir=folder)
    one_thread = Embedder(EmbeddingConfig(threads=1), cache_dir=folder)
    assert default.precision == "int8"
    default.embed(["builds the default int8 file into the folder"])

    int8_file = default.cache_dir / _cached(default)
    encoders = {
        BASELINE: lambda t: reference.encode(t, batch_size=32, normalize_embeddings=True),
        "ragbot fp32 (torch), batch 8": fp32.embed,
        "ONNX fp32, fused graph, token budget 1024": onnx_encoder(fused, model_path),
        "int8, batch 4 (previous default for int8)": onnx_encoder(int8_file, model_path, batch_size=4),
        "int8, fused graph first, token budget 1024 (dropped)": onnx_encoder(fused_int8, model_path),
        "int8, token budget 1024, threads spinning (ORT's default)": onnx_encoder(int8_file, model_path, spin=True),
        "int8, token budget 2048": onnx_encoder(int8_file, model_path, token_budget=2048),
        "int8, token budget 1024 (default: precision auto)": default.embed,
        "int8, token budget 1024, 1 thread": one_thread.embed,
    }
    if args.only:
        encoders = {n: e for n, e in encoders.items() if n == BASELINE or any(t in n for t in args.only)}
    rates, outputs = timed(encoders, texts, args.rounds)
    baseline = rates[BASELINE]
    reference_vectors = outputs[BASELINE]
    print(f"machine: {machine()}, onnxruntime {onnxruntime.__version__}, load average {os.getloadavg()}")
    print(f"chunks: {len(texts)}, {args.rounds} rounds (median)")
    print("| encoder | chunks/s | vs sentence-transformers fp32 (batch 32) | min cosine to it | mean cosine |")
    print("|---|---|---|---|---|")
    for name, rate in rates.items():
        agreement = (outputs[name] * reference_vectors).sum(axis=1)
        print(f"| {name} | {rate:.1f} | {rate / baseline:.2f}x | {agreement.min():.4f} | {agreement.mean():.4f} |")

    if args.budget_sweep:
        budgets = [512, 1024, 2048, 4096, 8192]
        sweep = {f"{b}": onnx_encoder(int8_file, model_path, token_budget=b) for b in budgets}
        sweep_rates, _ = timed(sweep, texts[:300], args.rounds)
        print("\n| token budget | int8 fused chunks/s |")
        print("|---|---|")
        for b in budgets:
            print(f"| {b} | {sweep_rates[str(b)]:.1f} |")


def _cached(embedder: object) -> str:
    from bot.embedder import resolve_embedding_model
    from bot.embedder_int8 import int8_model_path

    return int8_model_path(resolve_embedding_model("all-MiniLM-L6-v2"), embedder.cache_dir).name  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
