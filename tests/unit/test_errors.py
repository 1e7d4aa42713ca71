"""Errors are typed and documented in one tree: callers (and chat replies) pick behaviour by type."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import bot.errors
from bot.app.settings import AppSettings
from bot.embedder import Embedder
from bot.errors import AlreadyRunning, FetchError, ForbiddenAddress, IndexingError, RagbotError, SourceError
from bot.store import open_store
from indexer.config import FilesSource
from indexer.runner import _source_lock, run_index
from indexer.sources import list_documents
from indexer.sources.web.netguard import AddressPolicy


def documented_tree() -> dict[str, str]:
    """class -> parent, read from the box drawing at the top of bot/errors.py."""
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in (bot.errors.__doc__ or "").splitlines():
        match = re.match(r"^(\s*(?:[│ ]\s*)*(?:[├└]── )?)([A-Z]\w+)\s", line + " ")
        if not match or not (line.strip().startswith(("├", "└", "│")) or line.strip().startswith("RagbotError")):
            continue
        depth = len(match.group(1))
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parents[match.group(2)] = stack[-1][1]
        stack.append((depth, match.group(2)))
    return parents


def test_the_documented_tree_is_the_real_one() -> None:
    documented = documented_tree()
    real = {name: getattr(bot.errors, name).__mro__[1].__name__ for name in bot.errors.__all__ if name != "RagbotError"}
    assert documented == real


def test_a_second_run_of_a_source_is_refused_by_type(tmp_path: Path, embedder: Embedder) -> None:
    settings = AppSettings(data_dir=tmp_path, sources=[FilesSource(name="docs", path=tmp_path)])
    store = open_store(settings)
    try:
        with _source_lock(settings.data_dir, "docs"), pytest.raises(AlreadyRunning, match="already being indexed"):
            run_index(settings, store, embedder)
    finally:
        store.close()


def test_a_missing_folder_is_a_source_error(tmp_path: Path) -> None:
    settings = AppSettings(data_dir=tmp_path, sources=[FilesSource(name="docs", path=tmp_path / "gone")])

    with pytest.raises(SourceError, match="does not exist") as raised:
        list_documents(settings.sources[0], settings, {})
    assert isinstance(raised.value, IndexingError)


def test_a_denied_address_is_a_fetch_error_a_crawl_can_count() -> None:
    with pytest.raises(ForbiddenAddress) as raised:
        AddressPolicy().resolve("169.254.169.254", 80)
    assert isinstance(raised.value, FetchError) and isinstance(raised.value, RagbotError)
    assert raised.value.transient is False
