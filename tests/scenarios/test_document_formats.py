"""PDF and Word files in every source: headings, lists and tables kept, pages cited, scans skipped."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from bot.app.settings import AppSettings, load_settings
from bot.embedder import Embedder
from indexer.formats import MissingExtra, require
from indexer.formats.pdf import parse_pdf
from tests.support.docsite import DocsSite, send
from tests.support.project import index_once, write_config
from tests.support.sample_docs import handbook_pdf, manual_pdf, runbook_docx, scanned_pdf
from tests.support.stored import stored_chunks, stored_ids


def files_settings(tmp_path: Path, folder: Path) -> AppSettings:
    return load_settings(
        write_config(
            tmp_path,
            f"""data_dir = "{tmp_path / "data"}"
[[sources]]
name = "docs"
type = "files"
path = "{folder}"
""",
        )
    )


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "handbook.pdf").write_bytes(handbook_pdf())
    (docs / "runbook.docx").write_bytes(runbook_docx())
    (docs / "scan.pdf").write_bytes(scanned_pdf())
    (docs / "notes.md").write_text("# Notes\n\nThe VPN gateway is vpn.acme.example.\n", encoding="utf-8")
    return docs


def test_a_folder_of_pdf_and_word_files_is_indexed_with_page_citations(
    tmp_path: Path, folder: Path, embedder: Embedder
) -> None:
    settings = files_settings(tmp_path, folder)

    report = index_once(settings, embedder)

    assert stored_ids(settings, "docs") == {"docs:handbook.pdf", "docs:runbook.docx", "docs:notes.md"}
    assert report.added == 3 and report.errors == [] and not report.failed
    # The scan has no text layer: a warning that says why and what to do, not an error.
    assert len(report.warnings) == 1
    assert report.warnings[0].startswith("scan.pdf: skipped: no text layer") and "OCR" in report.warnings[0]
    pdf = stored_chunks(settings, "docs:handbook.pdf")
    incident = next(chunk for chunk in pdf if "escalation window" in chunk.text)
    assert incident.url == "file:docs/handbook.pdf#page=2"
    assert incident.section == "Incident response" and incident.title == "Operations Handbook"


def test_word_headings_lists_and_tables_survive(tmp_path: Path, folder: Path, embedder: Embedder) -> None:
    settings = files_settings(tmp_path, folder)
    index_once(settings, embedder)

    chunks = {chunk.section: chunk for chunk in stored_chunks(settings, "docs:runbook.docx")}

    assert chunks["Failover"].title == "Database Runbook"
    assert "- Check replication lag first\n- Tell the incident channel" in chunks["Failover"].text
    assert "1. Stop the writers\n2. Run VACUUM FULL on the orders table" in chunks["Maintenance"].text
    assert "| max_connections | 400 |" in chunks["Maintenance > Limits"].text
    assert chunks["Maintenance > Limits"].text.startswith("| Setting | Value |\n|---|---|")


def test_an_edited_word_file_is_updated_and_the_rest_left_alone(
    tmp_path: Path, folder: Path, embedder: Embedder
) -> None:
    settings = files_settings(tmp_path, folder)
    index_once(settings, embedder)
    (folder / "runbook.docx").write_bytes(runbook_docx(extra_paragraph="Failover drills run every March."))

    report = index_once(settings, embedder)

    assert (report.added, report.updated, report.deleted, report.unchanged) == (0, 1, 0, 2)


def test_a_damaged_pdf_costs_only_itself(tmp_path: Path, folder: Path, embedder: Embedder) -> None:
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 50)
    settings = files_settings(tmp_path, folder)

    report = index_once(settings, embedder)

    assert report.added == 3 and report.failed_documents == 1
    assert report.errors[0].startswith("broken.pdf: skipped: cannot parse") and "not a readable PDF" in report.errors[0]


def test_a_missing_reader_names_the_extra_to_install() -> None:
    with pytest.raises(MissingExtra, match=r"pip install 'ragbot\[docs\]'"):
        require("ragbot_no_such_reader", "docs", "reading PDF files")


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[DocsSite]:
    docs = DocsSite(tmp_path / "site")
    yield docs
    docs.close()


def test_a_crawled_site_indexes_its_linked_pdf_and_cites_the_page(
    tmp_path: Path, site: DocsSite, embedder: Embedder
) -> None:
    body = handbook_pdf()
    etag = '"handbook-v1"'

    def serve_pdf(handler: BaseHTTPRequestHandler) -> int:  # linked from /index.html
        if handler.headers.get("If-None-Match") == etag:
            return send(handler, 304, b"", headers={"ETag": etag})
        return send(handler, 200, body, "application/pdf", {"ETag": etag})

    site.route("/downloads/handbook.pdf", serve_pdf)
    settings = load_settings(
        write_config(
            tmp_path,
            f"""data_dir = "{tmp_path / "data"}"
[[sources]]
name = "docs"
type = "web"
urls = ["{site.url}/index.html"]
timeout_s = 2
retries = 0
exclude = ["/huge.html", "/slow.html"]
""",
        )
    )

    index_once(settings, embedder)
    site.clear_log()
    second = index_once(settings, embedder)

    chunks = stored_chunks(settings, f"docs:{site.url}/downloads/handbook.pdf")
    backups = next(chunk for chunk in chunks if "Snapshots of the orders database" in chunk.text)
    assert backups.url == f"{site.url}/downloads/handbook.pdf#page=3" and backups.section == "Backups"
    assert site.requested("/downloads/handbook.pdf") == [304]  # unchanged: not downloaded again
    assert second.chunks_embedded == 0


def test_a_printed_manual_loses_its_running_header_and_keeps_its_numbered_headings() -> None:
    parsed = parse_pdf(manual_pdf(), "manual")

    assert parsed.title == "Platform Manual"
    by_heading = {section.heading_path: section for section in parsed.sections}
    assert set(by_heading) == {("Installing",), ("Upgrading",), ("Removing",)}
    assert by_heading[("Upgrading",)].text == "Back up the config first.\n- Stop the agent\n- Replace the binary"
    assert by_heading[("Removing",)].anchor == "page=3"
    assert not any("version 2" in section.text for section in parsed.sections)
