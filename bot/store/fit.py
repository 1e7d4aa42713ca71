"""Does an existing collection fit the model that wants to use it? One check for every engine.

Vectors of two models can't be compared, even at the same dimension, so a collection records
what built it (Qdrant collection metadata; the Edge store's meta file) and every engine refuses
a model that did not build it, with the same message and the same way out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.errors import StoreMismatch

__all__ = ["MODEL_KEY", "ENCODER_KEY", "DISTANCE", "BUILT_KEYS", "index_metadata", "check_fits"]

log = logging.getLogger(__name__)

MODEL_KEY = "embedding_model"
# Room for a fingerprint of a document encoder trained for this index (None until one exists).
ENCODER_KEY = "document_encoder"
DISTANCE = "cosine"  # the embedder makes unit vectors; every collection ragbot builds compares by cosine
# What the stored vectors are: fixed when the collection is made, so update_meta may not change them.
BUILT_KEYS = frozenset({"dimension", MODEL_KEY})
_warned_unknown: set[str] = set()


def index_metadata(dimension: int, model_name: str, encoder: str = "") -> dict[str, Any]:
    """What a new collection records about the vectors it will hold."""
    return {"dimension": dimension, MODEL_KEY: model_name, ENCODER_KEY: encoder or None}


def _same_model(a: str, b: str) -> bool:
    """The same model under two spellings: ``all-MiniLM-L6-v2`` is ``sentence-transformers/all-MiniLM-L6-v2``."""

    def norm(name: str) -> str:
        return name.strip().rstrip("/").removeprefix("sentence-transformers/").lower()

    return norm(a) == norm(b)


def _fix(built_with: object) -> str:
    back = f"back to {built_with!r}" if built_with else "back to the one that built it"
    return (
        f"set [embedding] model (RAGBOT_EMBEDDING_MODEL) {back}, or build a new index with "
        f"the new model: set RAGBOT_COLLECTION to a new name (Qdrant server) or RAGBOT_DATA_DIR to a new "
        "folder (embedded), then run `ragbot index`"
    )


def check_fits(
    where: str,
    size: int | None,
    distance: str | None,
    meta: Mapping[str, Any],
    dimension: int,
    model_name: str,
    encoder: str = "",
) -> None:
    """StoreMismatch unless the collection at ``where`` holds ``dimension``-d cosine vectors built
    by ``model_name`` (and ``encoder``, when both it and the collection name one).

    ``size`` and ``distance`` are what the engine says its vectors are; ``meta`` is what the
    collection recorded (see :func:`index_metadata`). An old collection that recorded no model
    name is accepted with one warning per ``where`` and process, since its model is unknown."""
    built_with = meta.get(MODEL_KEY)
    if size != dimension or (distance or "").lower() != DISTANCE:
        made_by = f"from {built_with!r}" if built_with else "from an unrecorded model"
        raise StoreMismatch(
            f"{where} holds {size}-d {(distance or 'unknown').lower()} vectors {made_by}, but the embedding "
            f"model {model_name!r} makes {dimension}-d {DISTANCE} vectors; to fix: {_fix(built_with)}"
        )
    if not built_with:
        if where not in _warned_unknown:
            _warned_unknown.add(where)
            log.warning(
                "%s does not record which embedding model built it; assuming %r. If answers look unrelated "
                "to questions, rebuild it (`ragbot index --full` into a new collection or data dir)",
                where,
                model_name,
            )
        return
    if not _same_model(str(built_with), model_name):
        raise StoreMismatch(
            f"{where} was built with the embedding model {built_with!r}, but [embedding] model is {model_name!r}; "
            f"vectors of two models can't be compared even at the same dimension. To fix: {_fix(built_with)}"
        )
    stored_encoder = meta.get(ENCODER_KEY)
    if stored_encoder and encoder and stored_encoder != encoder:
        raise StoreMismatch(
            f"{where} was built with document encoder {stored_encoder!r}, but this process uses {encoder!r}; "
            f"to fix: {_fix(built_with)}"
        )
