"""Indexing the sample handbook: incremental runs, bad files, failures that lose nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.app.settings import AppSettings
from bot.embedder import Embedder
from bot.store import open_store
from indexer.pipeline import Indexer


def index_once(settings: AppSettings, embedder: Embedder, full: bool = False):
    store = open_store(settings)
    try:
        (report,) = Indexer(settings, store, embedder).run(full=full)
        states = store.document_states()
        return report, states
    finally:
        store.close()


def test_first_run_indexes_every_handbook_page(handbook: Path, settings_for, embedder: Embedder) -> None:
    report, states = index_once(settings_for(handbook), embedder)

    pages = sorted(p.name for p in handbook.iterdir())
    assert report.added == len(pages) >= 10
    assert report.errors == [] and not report.failed
    assert sorted(doc_id.split(":", 1)[1] for doc_id in states) == pages
    assert report.chunks_embedded == sum(s.chunk_count for s in states.values())
    assert all(s.consistent for s in states.values())


def test_second_run_embeds_nothing(handbook: Path, settings_for, embedder: Embedder) -> None:
    settings = settings_for(handbook)
    index_once(settings, embedder)

    report, _ = index_once(settings, embedder)

    assert report.chunks_embedded == 0
    assert report.unchanged == len(list(handbook.iterdir()))
    assert (report.added, report.updated, report.deleted) == (0, 0, 0)


def test_editing_one_page_re_embeds_only_its_chunks(handbook: Path, settings_for, embedder: Embedder) -> None:
    settings = settings_for(handbook)
    _, before = index_once(settings, embedder)
    page = handbook / "deploys.md"
    page.write_text(page.read_text() + "\n## Deploy freeze\n\nNo deploys between 20 December and 2 January.\n")

    report, after = index_once(settings, embedder)

    doc_id = "handbook:deploys.md"
    assert report.updated == 1 and report.added == 0
    assert report.chunks_embedded == after[doc_id].chunk_count
    assert after[doc_id].content_hash != before[doc_id].content_hash
    assert {d: s.content_hash for d, s in after.items() if d != doc_id} == {
        d: s.content_hash for d, s in before.items() if d != doc_id
    }


def test_shrinking_a_page_drops_its_old_chunks(handbook: Path, settings_for, embedder: Embedder) -> None:
    settings = settings_for(handbook)
    _, before = index_once(settings, embedder)
    (handbook / "on-call.md").write_text("# On-call handbook\n\nThe rotation moved to the SRE team.\n")

    _, after = index_once(settings, embedder)

    assert before["handbook:on-call.md"].chunk_count > 1
    assert after["handbook:on-call.md"].chunk_count == 1 and after["handbook:on-call.md"].consistent


def test_deleting_a_page_removes_its_chunks(handbook: Path, settings_for, embedder: Embedder) -> None:
    settings = settings_for(handbook)
    index_once(settings, embedder)
    (handbook / "travel.html").unlink()

    report, after = index_once(settings, embedder)

    assert report.deleted == 1
    assert "handbook:travel.html" not in after
    store = open_store(settings)
    try:
        hits = store.search(embedder.embed_query("per diem for meals when travelling"), k=10)
        assert all("travel.html" not in h.url for h in hits)
    finally:
        store.close()


def test_full_run_re_embeds_everything(handbook: Path, settings_for, embedder: Embedder) -> None:
    settings = settings_for(handbook)
    first, _ = index_once(settings, embedder)

    again, _ = index_once(settings, embedder, full=True)

    assert again.chunks_embedded == first.chunks_embedded
    assert again.updated == first.added


def test_bad_files_are_skipped_and_reported_while_the_rest_is_indexed(
    handbook: Path, settings_for, embedder: Embedder
) -> None:
    (handbook / "empty.md").write_text("   \n")
    (handbook / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00 IHDR")
    (handbook / "latin1.md").write_bytes("# Caf\xe9\n\nThe caf\xe9 opens at 8.".encode("latin-1"))
    (handbook / "huge.md").write_text("# Huge\n\n" + "word " * 40_000)
    settings = settings_for(handbook, extra="[limits]\nmax_file_bytes = 100000\n")

    report, states = index_once(settings, embedder)

    errors = "\n".join(report.errors)
    assert "empty.md: skipped: empty file" in errors
    assert "binary.txt: skipped: binary content" in errors
    assert "latin1.md: skipped: not valid UTF-8" in errors
    assert "huge.md: skipped:" in errors and "max_file_bytes" in errors
    assert not report.failed
    assert "handbook:deploys.md" in states and "handbook:huge.md" not in states


def test_a_page_that_turns_unreadable_keeps_its_old_version(handbook: Path, settings_for, embedder: Embedder) -> None:
    settings = settings_for(handbook)
    _, before = index_once(settings, embedder)
    (handbook / "expenses.md").write_bytes(b"\x00\x01 corrupted by a bad sync")

    report, after = index_once(settings, embedder)

    assert any(e.startswith("expenses.md: skipped: binary") for e in report.errors)
    assert after["handbook:expenses.md"] == before["handbook:expenses.md"]
    assert report.deleted == 0


def test_a_missing_source_folder_fails_the_source_and_deletes_nothing(
    handbook: Path, settings_for, embedder: Embedder, tmp_path: Path
) -> None:
    settings = settings_for(handbook)
    _, before = index_once(settings, embedder)
    shutil.move(handbook, tmp_path / "moved-away")

    report, after = index_once(settings, embedder)

    assert report.failed
    assert "does not exist" in report.errors[0]
    assert after == before


def test_ignore_patterns_leave_files_out(handbook: Path, settings_for, embedder: Embedder) -> None:
    drafts = handbook / "drafts"
    drafts.mkdir()
    (drafts / "secret-plan.md").write_text("# Secret plan\n\nNot ready yet.\n")
    settings = settings_for(handbook)
    settings.sources[0].ignore.append("drafts/**")

    _, states = index_once(settings, embedder)

    assert "handbook:drafts/secret-plan.md" not in states


@pytest.mark.parametrize("backend", ["edge", "local"])
def test_chunks_carry_the_payload_citations_need(
    handbook: Path, settings_for, embedder: Embedder, backend: str
) -> None:
    settings = settings_for(handbook, extra=f'[store]\nbackend = "{backend}"\n')
    index_once(settings, embedder)
    store = open_store(settings)
    try:
        hit = store.search(embedder.embed_query("how do I roll back a deploy"), k=1)[0]
    finally:
        store.close()
    assert hit.doc_id == "handbook:deploys.md"
    assert hit.url == "https://handbook.acme.example/deploys.md#rolling-back"
    assert hit.title == "Deploying to production" and hit.section == "Rolling back"
    assert "Rollback" in hit.text


def test_run_history_reads_records_of_the_previous_format(tmp_path: Path) -> None:
    from indexer.runs import RunLog

    (tmp_path / "runs.jsonl").write_text(
        '{"name": "handbook", "added": 14, "updated": 0, "deleted": 0, "unchanged": 0, "chunks_embedded": 62, '
        '"errors": [], "failed": true, "started_at": "a", "finished_at": "b"}\n{"name": "cut by a cra'
    )
    (run,) = RunLog(tmp_path).recent()
    assert (run["status"], run["failed"], run["fetched"]) == ("failed", 0, 0)
