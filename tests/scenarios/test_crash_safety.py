"""Killing the indexer at any point leaves every document in its old or its new version."""

from __future__ import annotations

from pathlib import Path

from bot.app.settings import load_settings
from bot.store import open_store
from indexer.sources.base import content_hash
from tests.support.crashes import index_and_kill_after
from tests.support.processes import run_cli
from tests.support.project import handbook_config

DOCS = 60


def write_corpus(folder: Path, version: str) -> dict[str, str]:
    """Write the pages of one version; return each document id's content hash."""
    folder.mkdir(exist_ok=True)
    hashes = {}
    for i in range(DOCS):
        # Version "a" and "b" differ in length so updates both grow and shrink documents.
        sections = 2 + (i % 5) if version == "a" else 1 + ((i * 7) % 6)
        body = "\n\n".join(
            f"## Part {s}\n\n" + " ".join(f"Service {i} rule {s}.{n} for release {version}." for n in range(25))
            for s in range(sections)
        )
        page = folder / f"page-{i:03}.md"
        page.write_text(f"# Page {i}\n\n{body}\n")
        hashes[f"handbook:{page.name}"] = content_hash(page.read_bytes())
    return hashes


def stored_versions(config: Path) -> dict[str, str]:
    """Each stored document's single content hash; fails if any document is not whole."""
    settings = load_settings(config)
    store = open_store(settings)
    try:
        states = store.document_states()
    finally:
        store.close()
    assert len(states) == DOCS, "no document may go missing"
    for state in states.values():
        assert len(state.content_hashes) == 1, f"{state.doc_id} mixes versions"
        assert state.chunk_count == state.expected_chunks, f"{state.doc_id} is incomplete"
    return {doc_id: state.content_hash for doc_id, state in states.items()}


def test_killed_index_runs_leave_old_or_new_versions_and_the_next_run_finishes(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    old = write_corpus(docs, "a")
    config = handbook_config(tmp_path, docs)
    assert run_cli("--config", str(config), "index", "--json").returncode == 0
    new = write_corpus(docs, "b")

    written = 0
    for kill_after in (1, 9):  # the second run resumes the first and is killed again
        index_and_kill_after(config, kill_after)
        written += kill_after

        after_kill = stored_versions(config)
        assert all(after_kill[d] in (old[d], new[d]) for d in old)
        assert sum(after_kill[d] == new[d] for d in new) >= written, "documents written before a kill stay new"
        assert any(after_kill[d] == old[d] for d in old), "the run was cut short"

    finish = run_cli("--config", str(config), "index", "--json")

    assert finish.returncode == 0, finish.stderr
    assert stored_versions(config) == new
    store = open_store(load_settings(config))
    try:
        assert all(state.stale_points == 0 for state in store.document_states().values())
    finally:
        store.close()
