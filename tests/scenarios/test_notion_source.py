"""The notion source against a fake Notion API on 127.0.0.1, through the real notion-client."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app.settings import AppSettings, load_settings
from bot.embedder import Embedder
from bot.errors import ConfigError
from tests.support.fake_notion import FakeNotion, bullet, callout, code, heading, table, text_block, todo, toggle, uid
from tests.support.project import index_once, write_config
from tests.support.stored import stored_chunks, stored_ids

TOKEN = "ntn_secret_integration_token_42"
ROOT, RUNBOOKS, BACKUPS, SERVICES, API_ROW, BILLING_ROW = uid(1), uid(2), uid(3), uid(100), uid(201), uid(202)


@pytest.fixture()
def notion(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeNotion]:
    fake = FakeNotion()
    fake.valid_tokens = {TOKEN}
    fake.add_page(
        1,
        "Engineering",
        [
            text_block("Welcome to the engineering wiki."),
            heading(1, "Deploys"),
            bullet("Deploy from the main branch"),
            bullet("Announce in #deploys"),
            todo("Tag the release", checked=True),
            code("make deploy ENV=prod"),
            table([["Env", "Window"], ["prod", "Mon-Thu"]]),
            callout("No deploys after Friday 16:00.", "⚠️", [text_block("Ask the release manager for exceptions.")]),
            toggle("Rollback", [text_block("Run make rollback within 10 minutes.")]),
        ],
    )
    fake.add_page(2, "Runbooks", [heading(2, "Failover"), text_block("Promote the replica.")], parent=ROOT)
    fake.add_page(3, "Backups", [text_block("Snapshots run every hour.")], parent=RUNBOOKS)
    fake.add_database(100, "Services", parent=ROOT)
    owner = {"Owner": {"type": "select", "select": {"name": "Team Atlas"}}, "Tier": {"type": "number", "number": 1}}
    fake.add_row(SERVICES, 201, "API", owner, [text_block("The public REST API.")])
    fake.add_row(SERVICES, 202, "Billing", {"Tier": {"type": "number", "number": 2}}, [])
    monkeypatch.setenv("NOTION_TOKEN", TOKEN)
    yield fake
    fake.close()


def notion_settings(tmp_path: Path, notion: FakeNotion, extra: str = "", rate: float = 100) -> AppSettings:
    return load_settings(
        write_config(
            tmp_path,
            f"""data_dir = "{tmp_path / "data"}"
[[sources]]
name = "notion"
type = "notion"
base_url = "{notion.url}"
root_pages = ["https://www.notion.so/acme/Engineering-{ROOT.replace("-", "")}"]
requests_per_second = {rate}
timeout_s = 5
retries = 2
{extra}
""",
        )
    )


ALL = {f"notion:{page}" for page in (ROOT, RUNBOOKS, BACKUPS, API_ROW, BILLING_ROW)}


def test_first_sync_indexes_child_pages_and_database_rows_through_a_429_and_a_5xx_burst(
    tmp_path: Path, notion: FakeNotion, embedder: Embedder
) -> None:
    settings = notion_settings(tmp_path, notion)
    notion.throttle(1, retry_after=1)
    notion.burst(2, 502)

    report = index_once(settings, embedder)

    assert stored_ids(settings, "notion") == ALL and report.added == 5 and report.errors == []
    assert notion.statuses()[:4] == [429, 502, 502, 200]
    chunks = stored_chunks(settings, f"notion:{ROOT}")
    deploys = next(chunk for chunk in chunks if chunk.section == "Deploys")
    heading_block = notion.pages[ROOT].blocks[1]["id"].replace("-", "")
    assert deploys.url == f"https://www.notion.so/Engineering-{ROOT.replace('-', '')}#{heading_block}"
    for kept in (
        "- Deploy from the main branch\n- Announce in #deploys\n- [x] Tag the release",
        "```\nmake deploy ENV=prod\n```",
        "| prod | Mon-Thu |",
        "No deploys after Friday 16:00.",
        "Ask the release manager for exceptions.",
        "Rollback\n\nRun make rollback within 10 minutes.",
    ):
        assert kept in deploys.text, kept
    (backups,) = stored_chunks(settings, f"notion:{BACKUPS}")
    assert backups.section == "Engineering > Runbooks" and backups.title == "Backups"
    (row,) = stored_chunks(settings, f"notion:{API_ROW}")
    assert row.section == "Engineering > Services" and "- Owner: Team Atlas\n- Tier: 1" in row.text


def test_a_sync_with_no_changes_reads_only_metadata(tmp_path: Path, notion: FakeNotion, embedder: Embedder) -> None:
    settings = notion_settings(tmp_path, notion)
    index_once(settings, embedder)
    notion.clear_log()

    report = index_once(settings, embedder)

    assert report.unchanged == 5 and report.chunks_embedded == 0 and report.errors == []
    assert notion.block_reads() == []  # no page content read
    assert sorted(r.path for r in notion.requests()) == sorted(  # one search call stands for the child pages
        ["/v1/search", f"/v1/pages/{ROOT}", f"/v1/databases/{SERVICES}"]
        + [f"/v1/data_sources/{notion.databases[SERVICES].source_id}/query"]
    )


def test_an_edit_an_add_and_a_delete_give_one_each(tmp_path: Path, notion: FakeNotion, embedder: Embedder) -> None:
    settings = notion_settings(tmp_path, notion)
    index_once(settings, embedder)
    notion.edit(BACKUPS, [text_block("Snapshots run every 30 minutes.")])
    notion.add_page(4, "Postmortems", [text_block("Blameless, within five days.")], parent=RUNBOOKS)
    notion.pages[BILLING_ROW].in_trash = True

    report = index_once(settings, embedder)

    assert (report.added, report.updated, report.deleted) == (1, 1, 1)
    assert stored_ids(settings, "notion") == ALL - {f"notion:{BILLING_ROW}"} | {f"notion:{uid(4)}"}
    assert "30 minutes" in stored_chunks(settings, f"notion:{BACKUPS}")[0].text


def test_an_outage_deletes_nothing(tmp_path: Path, notion: FakeNotion, embedder: Embedder) -> None:
    settings = notion_settings(tmp_path, notion)
    index_once(settings, embedder)
    notion.down = True

    report = index_once(settings, embedder)

    assert report.failed and report.deleted == 0 and stored_ids(settings, "notion") == ALL
    assert report.errors == [
        f"source 'notion': cannot read root page {ROOT} (Notion answered HTTP 503 (service_unavailable)); "
        "nothing was changed"
    ]


def test_a_child_page_that_fails_keeps_its_subtree(tmp_path: Path, notion: FakeNotion, embedder: Embedder) -> None:
    settings = notion_settings(tmp_path, notion)
    index_once(settings, embedder)
    notion.edit(RUNBOOKS, [heading(2, "Failover"), text_block("Promote the replica within a minute.")])
    notion.before(lambda r: r.path == f"/v1/pages/{RUNBOOKS}", lambda: notion.burst(3, 502))

    report = index_once(settings, embedder)

    assert not report.failed and not report.complete and report.deleted == 0
    assert stored_ids(settings, "notion") == ALL  # Backups, below the failed page, is still visited
    assert report.errors == [f"page {RUNBOOKS}: Notion answered HTTP 502 (service_unavailable)"]


def test_a_bad_token_gives_one_clear_line_without_the_secret(
    tmp_path: Path, notion: FakeNotion, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTION_TOKEN", "ntn_revoked_token_0000")

    report = index_once(notion_settings(tmp_path, notion), embedder)

    assert report.errors == [
        "source 'notion': Notion refused the token (HTTP 401): check NOTION_TOKEN (revoked or mistyped?); "
        "nothing was changed"
    ]
    assert "ntn_" not in (tmp_path / "data" / "runs.jsonl").read_text()


def test_a_page_deleted_between_listing_and_reading_is_removed(
    tmp_path: Path, notion: FakeNotion, embedder: Embedder
) -> None:
    settings = notion_settings(tmp_path, notion)
    index_once(settings, embedder)
    notion.edit(BACKUPS, [text_block("Snapshots run every 30 minutes.")])
    notion.before(lambda r: r.path == f"/v1/blocks/{BACKUPS}/children", lambda: notion.pages.pop(BACKUPS))

    report = index_once(settings, embedder)

    assert report.deleted == 1 and report.errors == [] and stored_ids(settings, "notion") == ALL - {f"notion:{BACKUPS}"}


def test_a_huge_page_is_paged_through_then_skipped_over_max_blocks(
    tmp_path: Path, notion: FakeNotion, embedder: Embedder
) -> None:
    notion.add_page(5, "Changelog", [text_block(f"Release {n}") for n in range(450)], parent=ROOT)
    settings = notion_settings(tmp_path, notion, extra="max_blocks = 400")

    report = index_once(settings, embedder)

    assert stored_ids(settings, "notion") == ALL and report.failed_documents == 1 and report.complete
    assert report.errors == ["Engineering/Changelog: skipped: more than max_blocks = 400 blocks"]
    assert len([r for r in notion.block_reads() if uid(5) in r.path]) == 5  # 100 a page, cursor followed


def test_requests_keep_to_the_rate_limit(tmp_path: Path, notion: FakeNotion, embedder: Embedder) -> None:
    index_once(notion_settings(tmp_path, notion, rate=8), embedder)

    arrivals = [request.at for request in notion.requests()]
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:])]
    assert len(arrivals) > 8 and min(gaps) >= 0.1  # 8 a second: 125 ms apart, less scheduling noise


def test_a_page_holding_only_child_pages_is_walked_without_a_complaint(
    tmp_path: Path, notion: FakeNotion, embedder: Embedder
) -> None:
    notion.add_page(6, "Teams", [], parent=ROOT)
    notion.add_page(7, "Platform team", [text_block("Owns the deploy pipeline.")], parent=uid(6))
    settings = notion_settings(tmp_path, notion)

    report = index_once(settings, embedder)

    assert stored_ids(settings, "notion") == ALL | {f"notion:{uid(7)}"} and report.errors == []
    assert stored_chunks(settings, f"notion:{uid(7)}")[0].section == "Engineering > Teams"


def test_a_missing_client_library_is_a_config_error_naming_the_extra(
    tmp_path: Path, notion: FakeNotion, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "notion_client", None)  # as if notion-client were not installed

    with pytest.raises(ConfigError) as error:
        notion_settings(tmp_path, notion)

    assert str(error.value).endswith(
        "line 2: sources.0: Value error, type 'notion' needs notion_client: install it with pip install "
        "'ragbot[notion]'"
    )


def test_a_database_listed_on_its_own_indexes_its_rows(tmp_path: Path, notion: FakeNotion, embedder: Embedder) -> None:
    settings = notion_settings(tmp_path, notion, extra=f'databases = ["{SERVICES}"]')
    settings.sources[0].root_pages = []

    report = index_once(settings, embedder)

    assert stored_ids(settings, "notion") == {f"notion:{API_ROW}", f"notion:{BILLING_ROW}"} and report.errors == []
    (row,) = stored_chunks(settings, f"notion:{API_ROW}")
    assert row.section == "Services" and row.title == "API"
