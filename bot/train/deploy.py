"""Switching the live query encoder: activate a version, roll back, list them.

Every switch is checked against the index first (a query encoder trained against another
document encoder is refused), written to ``models/active.json`` (what ``ask``, ``eval`` and
``serve`` follow) and recorded in the store's metadata (``query_encoder``), so the index says
which question encoder its vectors are being searched with.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.embedder import Embedder
from bot.errors import IndexEmpty
from bot.store import Store
from bot.train.registry import BASE_NAME, ModelVersion, Registry, check_document_encoder

__all__ = ["activate", "rollback", "list_versions", "QUERY_ENCODER_KEY", "check_fits_index"]

log = logging.getLogger(__name__)

QUERY_ENCODER_KEY = "query_encoder"  # store metadata: the active query encoder's name (None: base)
_MODEL_KEY = "embedding_model"  # store metadata: the document encoder that built the index


def check_fits_index(version: ModelVersion, store: Store, embedder: Embedder) -> None:
    """StoreMismatch unless ``version`` was trained against the encoder that built this index."""
    if not store.collection_exists():
        raise IndexEmpty("the index is empty; run `ragbot index` first")
    meta = store.meta()
    index_model = str(meta.get(_MODEL_KEY) or meta.get("model") or "")
    check_document_encoder(version, embedder.model_name, embedder.document_fingerprint, index_model or None)


def activate(registry: Registry, version: ModelVersion, store: Store | None, embedder: Embedder) -> None:
    """Make ``version`` the query encoder every process uses from its next question on.

    ``store`` None: the index can't be opened here (an embedded index held by ``ragbot serve``);
    the version is checked against the configured document encoder only, and the serving process,
    which checked the index against that encoder when it started, records the switch in the index."""
    _check(version, store, embedder)
    registry.activate(version)
    if store is not None:
        store.update_meta({QUERY_ENCODER_KEY: version.name})
    log.info("query encoder %s is active", version.name)


def rollback(registry: Registry, store: Store | None, embedder: Embedder) -> str:
    """Back to the encoder active before this one (``base``: the document encoder); its name."""
    state = registry.state()
    previous = state["history"][-1] if state["history"] else BASE_NAME
    if state["query_encoder"] and previous != BASE_NAME:
        _check(registry.by_name(previous), store, embedder)
    name = registry.rollback()
    if store is not None and store.collection_exists():
        store.update_meta({QUERY_ENCODER_KEY: None if name == BASE_NAME else name})
    return name


def _check(version: ModelVersion, store: Store | None, embedder: Embedder) -> None:
    if store is not None:
        check_fits_index(version, store, embedder)
    else:
        check_document_encoder(version, embedder.model_name, embedder.document_fingerprint)


def list_versions(registry: Registry) -> list[dict[str, Any]]:
    """One row per trained version, oldest first, for ``ragbot train --list``."""
    active = registry.state()["query_encoder"]
    rows = []
    for version in registry.versions():
        meta = version.meta
        heldout = meta.get("heldout", {})
        rows.append(
            {
                "model": version.name,
                "active": version.name == active,
                "created_at": meta.get("created_at"),
                "pairs": meta.get("pairs", {}),
                "before": heldout.get("before", {}),
                "after": heldout.get("after", {}),
                "activated": meta.get("activated"),
                "reason": meta.get("reason", ""),
            }
        )
    return rows
