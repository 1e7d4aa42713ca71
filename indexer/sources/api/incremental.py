"""The incremental check every API connector makes before it fetches a page's content.

A platform lists each page with a version (a number, an edit time, a revision id). A page
whose stored copy is whole, has that same version and the same document sets is kept as it
is: the run spends a line of the listing on it, not a fetch.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from bot.store import DocumentState
from indexer.sources.base import Listing

__all__ = ["is_current", "keep"]


def is_current(known: Mapping[str, DocumentState], doc_id: str, version: str, sets: Collection[str]) -> bool:
    state = known.get(doc_id)
    return (
        state is not None
        and bool(version)
        and state.consistent
        and state.etag == version
        and state.sets == frozenset(sets)
    )


def keep(listing: Listing, doc_id: str) -> None:
    """The page exists and its stored copy is current: no fetch, nothing to embed."""
    listing.present.add(doc_id)
    listing.not_modified.add(doc_id)
    listing.fetched += 1
