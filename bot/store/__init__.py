"""Vector store: one protocol, an embedded engine and a server engine behind it."""

from __future__ import annotations

from bot.config import Settings
from bot.store.base import DocumentState, Store

__all__ = ["Store", "DocumentState", "open_store"]


def open_store(settings: Settings) -> Store:
    """A Qdrant server when ``store.url`` (QDRANT_URL) is set, else the embedded engine."""
    if settings.store.url:
        from bot.store.qdrant import QdrantClientStore

        return QdrantClientStore(settings.collection, settings.store)
    if settings.store.backend == "local":
        from bot.store.qdrant import QdrantClientStore

        return QdrantClientStore(settings.collection, settings.store, settings.data_dir / "qdrant-local")
    from bot.store.edge import EdgeStore

    return EdgeStore(settings.data_dir / "edge" / settings.collection, settings.store)
