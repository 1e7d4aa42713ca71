"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import os
import platform
import statistics
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
PYTHON_DOCS = Path("/usr/share/doc/python3.11/html")


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), torch {torch.__version__}, {torch.get_num_threads()} threads"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary_ms(values_s: list[float]) -> str:
    ms = [v * 1000 for v in values_s]
    return f"p50 {percentile(ms, 0.5):.1f} ms, p95 {percentile(ms, 0.95):.1f} ms, mean {statistics.fmean(ms):.1f} ms"


def corpus_chunks(limit: int) -> list[str]:
    """Real chunk texts: the Python 3.11 docs if installed (Debian python3.11-doc), else the sample handbook."""
    from bot.config import EmbeddingConfig
    from bot.embedder import Embedder
    from indexer.chunk import Chunker
    from indexer.config import ChunkingConfig, FilesSource
    from indexer.parse import parse_document
    from indexer.sources.files import list_files

    root = PYTHON_DOCS if PYTHON_DOCS.is_dir() else REPO / "samples" / "handbook"
    source = FilesSource(name="bench", path=root)
    chunker = Chunker(Embedder(EmbeddingConfig()).tokenizer, ChunkingConfig())
    texts: list[str] = []
    while len(texts) < limit:
        before = len(texts)
        for doc in list_files(source, 5_000_000).documents:
            texts.extend(c.embedding_text for c in chunker.chunk(doc, parse_document(doc)))
            if len(texts) >= limit:
                break
        if len(texts) == before:
            break
    return texts[:limit]


def indexed_handbook(prefix: str, chat_limits: bool = False) -> Path:
    """A fresh data dir with the sample handbook indexed; returns its config file."""
    import subprocess
    import sys
    import tempfile

    root = Path(tempfile.mkdtemp(prefix=prefix))
    config = root / "ragbot.toml"
    limits = "[chat]\nuser_questions_per_minute = 1000\nquestions_per_minute = 1000\n" if chat_limits else ""
    config.write_text(
        f'data_dir = "{root / "data"}"\n{limits}[[sources]]\nname = "handbook"\n'
        f'path = "{REPO / "samples" / "handbook"}"\nbase_url = "https://handbook.acme.example/"\n'
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "index"],
        check=True,
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,  # callers print JSON reports on stdout
    )
    return config


def eval_questions() -> list[str]:
    import json

    lines = (REPO / "samples" / "eval.jsonl").read_text().splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def chat_bench_args():  # type: ignore[no-untyped-def]
    """--questions and --generators, shared by the chat latency benchmarks."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--generators", nargs="+", default=["extractive", "transformers"])
    return parser.parse_args()


def warm_cores(config: Path, generators: list[str]):  # type: ignore[no-untyped-def]
    """Yield (generator, RagCore) with models loaded, as a serving bot has them; closes each after."""
    from bot.app.settings import load_settings
    from bot.core import RagCore

    for generator in generators:
        os.environ["RAGBOT_GENERATOR"] = generator
        core = RagCore(load_settings(config))
        core.ask("warm up the models")
        try:
            yield generator, core
        finally:
            core.close()
