"""Generators: ``extractive`` (quotes sources), ``transformers`` (a local causal LM) and ``openai``
(any OpenAI-compatible chat completions server)."""

from __future__ import annotations

from bot.config import Settings
from bot.embedder import Embedder
from bot.generate.base import Generator, keep_valid_citations

__all__ = ["Generator", "make_generator", "keep_valid_citations"]


def make_generator(settings: Settings, embedder: Embedder) -> Generator:
    config = settings.generator
    if config.backend == "openai":
        from bot.generate.openai_compat import OpenAICompatibleGenerator

        return OpenAICompatibleGenerator(config)
    if config.backend == "transformers":
        from bot.generate.transformers_lm import TransformersGenerator

        return TransformersGenerator(config, settings.data_dir / "models")
    from bot.generate.extractive import ExtractiveGenerator

    return ExtractiveGenerator(embedder, max_units=config.max_sentences)
