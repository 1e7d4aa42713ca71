"""The one interface every vector store engine implements, and what it reports about documents.

The indexer, the retriever, the chat and the CLI only talk to this protocol; whether the points
live in an embedded engine or on a Qdrant server is decided once, in :func:`bot.store.open_store`.
Both engines share one implementation of everything but their primitives
(:class:`bot.store.engine.StoreEngine`), so they cannot drift apart; ``tests/unit/test_store_contract.py``
runs one suite over every engine configuration.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from bot.models import Chunk, Passage

__all__ = ["Store", "DocumentState"]


@dataclass(frozen=True)
class DocumentState:
    """What the store holds of one document, as the incremental indexer needs it."""

    doc_id: str
    source: str
    content_hashes: frozenset[str]
    chunk_count: int  # live points stored
    expected_chunks: int  # chunk_count recorded in the payloads
    stale_points: int = 0  # tombstones left by an interrupted update
    index_end: int = 0  # 1 + the highest chunk index stored, tombstones included
    sets: frozenset[str] = frozenset()  # document sets on the live chunks
    etag: str = ""  # HTTP validators the page was fetched with (web sources)
    last_modified: str = ""

    @property
    def consistent(self) -> bool:
        return len(self.content_hashes) == 1 and self.chunk_count == self.expected_chunks and not self.stale_points

    @property
    def content_hash(self) -> str | None:
        return next(iter(self.content_hashes)) if len(self.content_hashes) == 1 else None


class Store(Protocol):
    """A collection of chunk points: dense vectors, keyword (sparse) vectors and payloads.

    Every method may raise :class:`bot.errors.StoreUnavailable` when the engine can't be
    reached or opened (server down, embedded index locked by another process), and
    :class:`bot.errors.StoreError` when it refuses an operation; callers choose by type.
    """

    backend_name: str
    """Which engine this is, for people: ``embedded (qdrant-edge)``, ``qdrant server``, ..."""

    shared_across_machines: bool
    """True when the collection lives on a server that replicas on other machines share too,
    so state the replicas must agree on (chat state) has to live there as well."""

    @property
    def hybrid(self) -> bool:
        """The collection holds keyword (sparse) vectors beside the dense ones; False for
        collections built before keyword search existed, and while there is no collection."""
        ...

    def ensure_collection(self, dimension: int, model_name: str, encoder: str = "") -> None:
        """Create the collection, or check that the existing one fits the model.

        :param dimension: the size of the vectors ``model_name`` makes.
        :param model_name: the embedding model; recorded in a new collection's metadata.
        :param encoder: the fingerprint of a trained document encoder, or "" for none.
        :raises StoreMismatch: the existing collection holds vectors of another size or distance,
            was built by another model (``all-MiniLM-L6-v2`` and ``sentence-transformers/...`` are
            one model) or another recorded encoder; the message says how to go back or rebuild.
            A collection made before the model name was recorded is accepted with one warning.
        """
        ...

    def collection_exists(self) -> bool:
        """Whether the collection exists; may answer from a cache (see :meth:`probe`)."""
        ...

    def probe(self) -> bool:
        """Ask the engine now, bypassing (and refreshing) any cache, whether the collection exists.

        :returns: True when it exists. For readiness checks.
        :raises StoreUnavailable: the engine can't be reached.
        """
        ...

    def meta(self) -> dict[str, Any]:
        """What the collection records about how it was built, and what :meth:`update_meta` added.

        :returns: ``dimension``, ``embedding_model``, ``document_encoder`` and any recorded keys;
            ``{}`` when there is no collection.
        """
        ...

    def update_meta(self, values: dict[str, Any]) -> None:
        """Record ``values`` (JSON values) in the collection's metadata, kept across reopening.

        Merged into what is there; a key whose value is None is removed.

        :raises ValueError: ``values`` would change what the stored vectors are (``dimension``,
            ``embedding_model``): that takes a new collection.
        :raises StoreUnavailable: there is no collection yet (run ``ragbot index`` first).
        """
        ...

    def replace_document(self, chunks: Sequence[Chunk], vectors: np.ndarray, previous_count: int = 0) -> None:
        """Make the document's stored chunks exactly ``chunks``.

        One atomic upsert writes the new chunks and turns chunks ``len(chunks)..previous_count-1``
        of the old version into tombstones that searches skip; a second call then deletes the
        tombstones. A crash between the two leaves only harmless tombstones.

        :param chunks: every chunk of one document, in order; nothing happens when empty.
        :param vectors: one unit dense vector a chunk, row by row.
        :param previous_count: how many chunks the stored version has (0: a new document).
        :raises StoreUnavailable: there is no collection yet (run ``ragbot index`` first).
        """
        ...

    def delete_document(self, doc_id: str) -> None:
        """Remove every point of ``doc_id``, tombstones included; a missing document is no error."""
        ...

    def search(
        self,
        vector: np.ndarray,
        k: int,
        source: str | None = None,
        sets: Collection[str] | None = None,
        text: str | None = None,
        keywords_only: bool = False,
    ) -> list[Passage]:
        """The nearest live chunks, best first.

        :param vector: the unit query vector.
        :param k: how many chunks at most.
        :param source: only chunks of this source.
        :param sets: only chunks in at least one of these document sets; an empty collection of
            sets matches nothing, None everything.
        :param text: the question; on a hybrid collection the dense and keyword candidate lists
            are then fused by reciprocal rank (ties broken by cosine).
        :param keywords_only: with ``text``, only the keyword half ranks (to measure each half).
        :returns: passages whose ``score`` is always the dense cosine; ``[]`` without a collection.
        """
        ...

    def weighted_search(
        self,
        vector: np.ndarray,
        text: str,
        k: int,
        keyword_weight: float,
        source: str | None = None,
        sets: Collection[str] | None = None,
    ) -> list[Passage]:
        """The best live chunks by weighted reciprocal rank over a dense and a keyword candidate list.

        Each list holds ``4 * k`` candidates; a chunk at rank r of a list gains that list's weight
        (1 for dense, ``keyword_weight`` for keywords) over ``60 + r``; ties go to the higher cosine.
        When ``text`` has no keywords (or the collection is dense-only), the keyword list is the
        dense one. Only the chunks that make the cut are read back, so it costs little more than a
        dense search.

        :param vector: the unit query vector.
        :param text: the question, for the keyword list.
        :param k: how many chunks at most.
        :param keyword_weight: the keyword list's vote relative to the dense one's.
        :param source: only chunks of this source.
        :param sets: only chunks in at least one of these document sets (as in :meth:`search`).
        :returns: passages whose ``score`` is the dense cosine, best first; ``[]`` without a collection.
        """
        ...

    def fetch(self, point_ids: Sequence[str]) -> list[Passage]:
        """The live chunks with these point ids (see :func:`bot.models.point_id`), score 0.

        :returns: the chunks found; missing ids and tombstones are left out.
        """
        ...

    def vectors(self, point_ids: Sequence[str]) -> np.ndarray:
        """The stored dense vectors of these points, in this order, as an (n, dimension) float32 array.

        For training a query encoder against the document vectors exactly as indexed (``bot/train``).

        :raises KeyError: a point id is not stored.
        :raises StoreUnavailable: there is no collection yet, or the engine can't be reached.
        """
        ...

    def document_states(self, source: str | None = None) -> dict[str, DocumentState]:
        """What is stored of each document (of ``source``, or all): hashes, counts, tombstones.

        :returns: one state per document id; ``{}`` without a collection.
        """
        ...

    def count(self, source: str | None = None) -> int:
        """How many points (of ``source``, or all) are stored, tombstones included; 0 without a collection."""
        ...

    def finish_batch(self) -> None:
        """Called after an indexing pass: flush, build indexes."""
        ...

    def close(self) -> None:
        """Release the engine (files, locks, connections)."""
        ...
