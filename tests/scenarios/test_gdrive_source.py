"""The gdrive source against a fake Google on 127.0.0.1, through google-api-python-client and google-auth."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.app.settings import AppSettings, load_settings
from bot.embedder import Embedder
from bot.logs import redact
from tests.support.fake_google import DOC, DOCX, FOLDER, PDF, SHEET, DriveFile, FakeGoogle
from tests.support.project import index_once, write_config
from tests.support.sample_docs import handbook_pdf, runbook_docx
from tests.support.stored import stored_chunks, stored_ids

ROOT = "1RootFolderSharedWithRagbot"

RUNBOOK_HTML = """<html><head><meta content="text/html; charset=UTF-8" http-equiv="content-type">
<style type="text/css">.c1{font-weight:700}</style><title>Runbook</title></head><body class="c4 doc-content">
<p class="c1"><span>Who to call when things break.</span></p>
<h1 class="c2" id="h.gjdgxs"><span>Failover</span></h1><p><span>Promote the replica after 5 minutes.</span></p>
<h2 id="h.30j0zll"><span>Checks</span></h2><ul class="lst-kix"><li><span>Replication lag under 1 s</span></li></ul>
</body></html>"""


@pytest.fixture()
def google(tmp_path: Path) -> Iterator[FakeGoogle]:
    fake = FakeGoogle()
    fake.roots.add(ROOT)
    fake.add(DriveFile("doc1", "Runbook", DOC, ROOT, RUNBOOK_HTML))
    fake.add(DriveFile("pdf1", "Handbook.pdf", PDF, ROOT, handbook_pdf()))
    fake.add(DriveFile("sub1", "Teams", FOLDER, ROOT))
    fake.add(DriveFile("docx1", "Database runbook.docx", DOCX, "sub1", runbook_docx()))
    costs = {
        "Compute": [["Service", "Monthly"], ["api", "$1200"], ["batch", "$300"]],
        "Storage": [["Bucket"], ["logs"]],
    }
    fake.add(DriveFile("sheet1", "Cloud costs", SHEET, "sub1", costs))
    fake.add(DriveFile("img1", "diagram.png", "image/png", ROOT, b"\x89PNG"))
    (tmp_path / "sa.json").write_text(json.dumps(fake.service_account()))
    yield fake
    fake.close()


def drive_settings(
    tmp_path: Path, google: FakeGoogle, extra: str = "", where: str = f'folders = ["{ROOT}"]'
) -> AppSettings:
    return load_settings(
        write_config(
            tmp_path,
            f"""data_dir = "{tmp_path / "data"}"
[[sources]]
name = "drive"
type = "gdrive"
base_url = "{google.url}"
{where}
credentials_file = "sa.json"
timeout_s = 5
retries = 2
{extra}
""",
        )
    )


ALL = {"drive:doc1", "drive:pdf1", "drive:docx1", "drive:sheet1#gid=1000", "drive:sheet1#gid=1001"}


def test_first_sync_reads_docs_sheets_pdf_and_word_through_a_429_and_a_5xx_burst(
    tmp_path: Path, google: FakeGoogle, embedder: Embedder
) -> None:
    settings = drive_settings(tmp_path, google)
    google.throttle(1, retry_after=1)
    google.burst(1, 503)

    report = index_once(settings, embedder)

    assert stored_ids(settings, "drive") == ALL and report.added == 5 and report.errors == []
    assert google.statuses()[:3] == [429, 503, 200]
    checks = next(c for c in stored_chunks(settings, "drive:doc1") if "Replication lag" in c.text)
    assert checks.url == "https://docs.google.com/document/d/doc1/edit#heading=h.30j0zll"
    assert checks.section == "Failover > Checks" and checks.title == "Runbook"
    (compute,) = stored_chunks(settings, "drive:sheet1#gid=1000")
    assert compute.url == "https://docs.google.com/spreadsheets/d/sheet1/edit#gid=1000"
    assert compute.title == "Cloud costs: Compute" and "| api | $1200 |" in compute.text
    assert compute.section == "Teams > Cloud costs"
    pdf = next(c for c in stored_chunks(settings, "drive:pdf1") if "escalation window" in c.text)
    assert pdf.url == "https://drive.google.com/file/d/pdf1/view#page=2"
    assert any("| max_connections | 400 |" in c.text for c in stored_chunks(settings, "drive:docx1"))


def test_a_sync_with_no_changes_lists_and_reads_nothing(tmp_path: Path, google: FakeGoogle, embedder: Embedder) -> None:
    settings = drive_settings(tmp_path, google)
    index_once(settings, embedder)
    google.clear_log()

    report = index_once(settings, embedder)

    assert report.unchanged == 5 and report.chunks_embedded == 0
    assert google.content_reads() == []
    assert {r.path for r in google.requests()} == {"/token", "/drive/v3/files"}


def test_an_edit_an_add_and_a_trashed_file_give_one_each(
    tmp_path: Path, google: FakeGoogle, embedder: Embedder
) -> None:
    settings = drive_settings(tmp_path, google)
    index_once(settings, embedder)
    google.touch("doc1", RUNBOOK_HTML.replace("after 5 minutes", "after 10 minutes"))
    google.add(DriveFile("doc2", "Oncall", DOC, "sub1", "<html><body><p>Rotation changes Mondays.</p></body></html>"))
    google.files["pdf1"].trashed = True

    report = index_once(settings, embedder)

    assert (report.added, report.updated, report.deleted) == (1, 1, 1)
    assert stored_ids(settings, "drive") == ALL - {"drive:pdf1"} | {"drive:doc2"}


def test_sheets_can_be_left_out(tmp_path: Path, google: FakeGoogle, embedder: Embedder) -> None:
    settings = drive_settings(tmp_path, google, extra="sheets = false")

    index_once(settings, embedder)

    assert stored_ids(settings, "drive") == {"drive:doc1", "drive:pdf1", "drive:docx1"}
    assert not [r for r in google.requests() if r.path.startswith("/v4/")]


def test_an_outage_deletes_nothing(tmp_path: Path, google: FakeGoogle, embedder: Embedder) -> None:
    settings = drive_settings(tmp_path, google)
    index_once(settings, embedder)
    google.down = True

    report = index_once(settings, embedder)

    assert report.failed and report.deleted == 0 and stored_ids(settings, "drive") == ALL
    assert report.errors[0].endswith("nothing was changed")


def test_an_expired_access_token_is_renewed(tmp_path: Path, google: FakeGoogle, embedder: Embedder) -> None:
    settings = drive_settings(tmp_path, google)
    google.before(lambda r: r.path.endswith("/export"), google.expire_tokens)

    report = index_once(settings, embedder)

    assert report.added == 5 and report.errors == []
    assert len(google.requests(lambda r: r.path == "/token")) == 2


def test_a_revoked_key_gives_one_clear_line_without_the_secret(
    tmp_path: Path, google: FakeGoogle, embedder: Embedder
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    revoked = google.service_account(other)
    (tmp_path / "sa.json").write_text(json.dumps(revoked))

    report = index_once(drive_settings(tmp_path, google), embedder)

    assert report.errors == [
        "source 'drive': Google refused the service account key (invalid_grant): check credentials_file "
        "(a deleted key or a disabled service account?); nothing was changed"
    ]
    runs = (tmp_path / "data" / "runs.jsonl").read_text()
    assert "PRIVATE KEY" not in runs and revoked["private_key"][40:80] not in runs


def test_a_file_deleted_between_listing_and_reading_is_removed(
    tmp_path: Path, google: FakeGoogle, embedder: Embedder
) -> None:
    settings = drive_settings(tmp_path, google)
    index_once(settings, embedder)
    google.touch("doc1", RUNBOOK_HTML.replace("after 5 minutes", "after 10 minutes"))
    google.before(lambda r: r.path.endswith("doc1/export"), lambda: google.files.pop("doc1"))

    report = index_once(settings, embedder)

    assert report.deleted == 1 and report.errors == [] and stored_ids(settings, "drive") == ALL - {"drive:doc1"}


def test_a_huge_file_is_skipped_before_download_and_a_long_folder_is_paged(
    tmp_path: Path, google: FakeGoogle, embedder: Embedder
) -> None:
    google.add(DriveFile("big1", "Scans.pdf", PDF, ROOT, b"%PDF-1.7 " + b"0" * 3_000_000))
    for n in range(120):  # 120 images: the listing runs over one page of 100
        google.add(DriveFile(f"img{n + 10}", f"photo-{n}.png", "image/png", ROOT, b"\x89PNG"))
    settings = drive_settings(tmp_path, google, extra="max_bytes = 1000000")

    report = index_once(settings, embedder)

    assert stored_ids(settings, "drive") == ALL and report.complete and report.failed_documents == 1
    assert report.errors == ["Scans.pdf: skipped: 3000009 bytes is over max_bytes = 1000000"]
    assert not [r for r in google.requests() if "big1" in r.path]
    assert len(google.requests(lambda r: r.path == "/drive/v3/files" and "pageToken" in r.query)) == 1


def test_a_shared_drive_is_listed_with_its_drive_id(tmp_path: Path, google: FakeGoogle, embedder: Embedder) -> None:
    settings = drive_settings(tmp_path, google, where=f'shared_drive = "{ROOT}"')

    report = index_once(settings, embedder)

    assert report.added == 5
    listings = google.requests(lambda r: r.path == "/drive/v3/files")
    assert listings and all((r.query["corpora"], r.query["driveId"]) == ("drive", ROOT) for r in listings)


def test_no_key_names_where_to_put_one(
    tmp_path: Path, google: FakeGoogle, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    config = drive_settings(tmp_path, google).model_copy()
    config.sources[0].credentials_file = None

    report = index_once(config, embedder)

    assert report.errors == [
        "source 'drive': no service account key: set credentials_file, or GDRIVE_SERVICE_ACCOUNT_JSON "
        "(the JSON key itself); nothing was changed"
    ]


def test_the_service_account_key_is_masked_in_every_log_line_but_its_armour_words_are_not(
    tmp_path: Path, google: FakeGoogle, embedder: Embedder
) -> None:
    key = json.loads((tmp_path / "sa.json").read_text())
    body = [line for line in key["private_key"].splitlines() if line and "-----" not in line]

    index_once(drive_settings(tmp_path, google), embedder)

    line = redact(f"PRIVATE KEY leaked: {key['private_key_id']} {body[3][10:40]}")
    assert key["private_key_id"] not in line and body[3][10:40] not in line
    assert line.startswith("PRIVATE KEY leaked: ")
