"""What a model folder says about the model, read without loading it.

Loading the encoder costs seconds (torch, transformers, the weights). Some callers only need a
fact its ``config.json`` states: ``ragbot index`` checks the collection's vector size before it
knows whether anything changed, and a run with nothing to embed must not pay for the weights.
"""

from __future__ import annotations

import json
from pathlib import Path

from bot.embedder import resolve_embedding_model

__all__ = ["declared_dimension"]


def declared_dimension(model: str) -> int | None:
    """The vector size ``model`` makes (its ``hidden_size``, as the embedder reads it), or None
    when that is not on disk (a Hugging Face id not in a local folder): then load the model."""
    path = Path(resolve_embedding_model(model)) / "config.json"
    try:
        size = json.loads(path.read_text(encoding="utf-8"))["hidden_size"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return size if isinstance(size, int) and size > 0 else None
