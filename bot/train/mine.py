"""Hard negatives from the live index: the chunks the current query encoder ranks highest for a
question that are not its answer.

They are what the bot gets wrong today, so they teach more than random chunks. Chunks of a
positive's own document are left out rather than used as negatives: a page-level question is
answered by any of them, and the eval counts pages.
"""

from __future__ import annotations

import numpy as np

from bot.train.corpus import Corpus
from bot.train.pairs import Pair

__all__ = ["mine_hard_negatives", "top_rows"]

_BLOCK = 256  # questions scored against the whole index at a time (256 x 15k floats = 15 MB)


def top_rows(queries: np.ndarray, corpus: Corpus, depth: int) -> np.ndarray:
    """For each query vector, the ``depth`` best corpus rows by cosine, best first."""
    depth = min(depth, len(corpus))
    out = np.empty((len(queries), depth), dtype=np.int64)
    for start in range(0, len(queries), _BLOCK):
        scores = queries[start : start + _BLOCK] @ corpus.vectors.T
        best = np.argpartition(-scores, depth - 1, axis=1)[:, :depth]
        order = np.take_along_axis(scores, best, axis=1).argsort(axis=1)[:, ::-1]
        out[start : start + _BLOCK] = np.take_along_axis(best, order, axis=1)
    return out


def mine_hard_negatives(
    pairs: list[Pair], query_vectors: np.ndarray, corpus: Corpus, count: int
) -> list[tuple[int, ...]]:
    """Per pair: its explicit negatives (👎) first, then the best-ranked chunks of other documents."""
    ranked = top_rows(query_vectors, corpus, depth=count * 6 + 10)
    mined = []
    for pair, rows in zip(pairs, ranked):
        own_docs = {corpus.doc(row) for row in pair.positives}
        chosen = list(dict.fromkeys(pair.negatives))
        for row in rows:
            if len(chosen) >= count + len(pair.negatives):
                break
            row = int(row)
            if corpus.doc(row) not in own_docs and row not in chosen:
                chosen.append(row)
        mined.append(tuple(chosen))
    return mined
