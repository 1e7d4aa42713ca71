"""The live index as training sees it: every chunk, its page, and its stored document vector.

Only the query encoder is trained, so the document vectors are read, never recomputed: the
index stays exactly as it is. Holding them in memory (14,700 Python-docs chunks are 22 MB)
lets hard negatives be mined by one matrix product over the whole index.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from bot.errors import IndexEmpty
from bot.models import Passage, point_id
from bot.store import Store

__all__ = ["Corpus", "load_corpus", "page_of", "embedding_text"]

log = logging.getLogger(__name__)

_FETCH_PAGE = 1024


def page_of(url: str) -> str:
    """The page a citation URL points into (its #fragment dropped): what eval files name."""
    return url.split("#", 1)[0]


def embedding_text(passage: Passage) -> str:
    """The text the indexer embedded for a chunk (see ``Chunk.embedding_text``)."""
    heading = " > ".join(part for part in (passage.title, passage.section) if part)
    return f"{heading}\n{passage.text}" if heading else passage.text


@dataclass
class Corpus:
    """Chunks in a fixed order (row numbers), with lookups by point id, URL, page and document."""

    passages: list[Passage]
    vectors: np.ndarray  # (rows, dim) float32 unit vectors, as stored
    rows: dict[str, int] = field(default_factory=dict)  # point id -> row
    by_url: dict[str, list[int]] = field(default_factory=dict)  # URL with #anchor -> rows
    by_page: dict[str, list[int]] = field(default_factory=dict)  # URL without fragment -> rows
    by_doc: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for row, passage in enumerate(self.passages):
            self.rows[point_id(passage.doc_id, passage.chunk_index)] = row
            self.by_url.setdefault(passage.url, []).append(row)
            self.by_page.setdefault(page_of(passage.url), []).append(row)
            self.by_doc.setdefault(passage.doc_id, []).append(row)

    def __len__(self) -> int:
        return len(self.passages)

    def page(self, row: int) -> str:
        return page_of(self.passages[row].url)

    def doc(self, row: int) -> str:
        return self.passages[row].doc_id


def load_corpus(store: Store, progress: Callable[[int, int], None] | None = None) -> Corpus:
    """Every live chunk of the index with its document vector, exactly as stored (``Store.vectors``)."""
    if not store.collection_exists():
        raise IndexEmpty("the index is empty; run `ragbot index` before `ragbot train`")
    ids = [point_id(doc_id, i) for doc_id, state in store.document_states().items() for i in range(state.index_end)]
    passages = [p for batch in _pages(ids) for p in store.fetch(batch)]
    passages.sort(key=lambda p: (p.doc_id, p.chunk_index))
    if not passages:
        raise IndexEmpty("the index has no chunks; run `ragbot index` before `ragbot train`")
    live = [point_id(p.doc_id, p.chunk_index) for p in passages]
    vectors = np.vstack([store.vectors(batch) for batch in _pages(live)]).astype(np.float32)
    if progress is not None:
        progress(len(passages), len(passages))
    return Corpus(passages, vectors)


def _pages(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), _FETCH_PAGE):
        yield ids[start : start + _FETCH_PAGE]
