"""The confluence source against a fake Confluence on 127.0.0.1: real connector, embedder and store."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app.settings import AppSettings, load_settings
from bot.embedder import Embedder
from bot.errors import ConfigError
from bot.logs import redact
from tests.support.fake_confluence import Attachment, FakeConfluence, Page
from tests.support.project import index_once, write_config
from tests.support.sample_docs import handbook_pdf, runbook_docx
from tests.support.stored import stored_chunks, stored_ids

EMAIL, TOKEN = "bot@acme.example", "ATATT-secret-token-123"

DEPLOYS = """<p>How we ship.</p>
<ac:structured-macro ac:name="jira"><ac:parameter ac:name="key">OPS-4242</ac:parameter></ac:structured-macro>
<h2>Deploy freeze</h2>
<ac:structured-macro ac:name="warning"><ac:rich-text-body><p>No deploys after Friday 16:00.</p></ac:rich-text-body>
</ac:structured-macro>
<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">bash</ac:parameter>
<ac:plain-text-body><![CDATA[kubectl rollout undo deploy/api]]></ac:plain-text-body></ac:structured-macro>
<table><tbody><tr><th>Env</th><th>Window</th></tr><tr><td>prod</td><td>Mon-Thu</td></tr></tbody></table>"""


@pytest.fixture()
def wiki(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeConfluence]:
    fake = FakeConfluence()
    fake.valid_tokens = {f"{EMAIL}:{TOKEN}"}
    fake.add(Page("1", "Engineering", "ENG", "<p>The engineering space.</p>"))
    fake.add(Page("2", "Runbooks", "ENG", "<p>Runbooks for every service.</p>", parent="1"))
    fake.add(Page("3", "Deploys", "ENG", DEPLOYS, parent="2", labels=["deploy", "ops"]))
    fake.add(Page("4", "Oncall", "ENG", "<p>The on-call rotation changes on Mondays.</p>", parent="1"))
    fake.add(Page("5", "Old process", "ENG", "<p>Archived long ago.</p>", status="archived"))
    fake.add(Page("10", "Leave policy", "HR", "<p>Everyone gets 30 days of leave.</p>", labels=["hr"]))
    fake.add(Page("20", "Marketing plan", "MKT", "<p>Not in the configured spaces.</p>"))
    monkeypatch.setenv("CONFLUENCE_EMAIL", EMAIL)
    monkeypatch.setenv("CONFLUENCE_API_TOKEN", TOKEN)
    yield fake
    fake.close()


def wiki_settings(tmp_path: Path, wiki: FakeConfluence, extra: str = "", retries: int = 3) -> AppSettings:
    return load_settings(
        write_config(
            tmp_path,
            f"""data_dir = "{tmp_path / "data"}"
[[sources]]
name = "wiki"
type = "confluence"
base_url = "{wiki.base_url()}"
spaces = ["ENG", "HR"]
space_sets = {{"HR" = ["hr"]}}
page_size = 2
timeout_s = 5
retries = {retries}
{extra}
""",
        )
    )


FIRST = {"wiki:1", "wiki:2", "wiki:3", "wiki:4", "wiki:10"}


def test_first_sync_indexes_current_pages_through_throttling_and_a_5xx_burst(
    tmp_path: Path, wiki: FakeConfluence, embedder: Embedder
) -> None:
    settings = wiki_settings(tmp_path, wiki)
    wiki.throttle(1, retry_after=1)
    wiki.burst(2, 502)

    report = index_once(settings, embedder)

    assert stored_ids(settings, "wiki") == FIRST  # archived and out-of-space pages left out
    assert report.added == 5 and report.errors == [] and report.complete
    # Retried through the 429 and the burst; 5 pages, 2 a page: the cursor was followed to the end.
    listing = [status for request, status in wiki.log if "body" not in request.query.get("expand", "")]
    assert listing == [429, 502, 502, 200, 200, 200]
    deploys = stored_chunks(settings, "wiki:3")
    freeze = next(chunk for chunk in deploys if "Friday 16:00" in chunk.text)
    assert freeze.url == f"{wiki.base_url()}/spaces/ENG/pages/3/Deploys#Deploys-Deployfreeze"
    assert freeze.section == "Engineering > Runbooks > Deploy freeze" and freeze.title == "Deploys"
    assert "Warning:" in freeze.text and "```\nkubectl rollout undo deploy/api\n```" in freeze.text
    assert "| prod | Mon-Thu |" in freeze.text
    text = "\n".join(chunk.text for chunk in deploys)
    assert "OPS-4242" not in text and "Labels: deploy, ops" in text


def test_space_sets_put_a_space_in_its_own_document_set(
    tmp_path: Path, wiki: FakeConfluence, embedder: Embedder
) -> None:
    settings = wiki_settings(tmp_path, wiki)
    index_once(settings, embedder)
    from bot.store import open_store

    store = open_store(settings)
    try:
        states = store.document_states("wiki")
    finally:
        store.close()
    assert states["wiki:10"].sets == frozenset({"hr"}) and states["wiki:3"].sets == frozenset({"public"})


def test_a_sync_with_no_changes_reads_only_the_listing(
    tmp_path: Path, wiki: FakeConfluence, embedder: Embedder
) -> None:
    settings = wiki_settings(tmp_path, wiki)
    index_once(settings, embedder)
    wiki.clear_log()

    report = index_once(settings, embedder)

    assert report.unchanged == 5 and report.chunks_embedded == 0
    assert (report.added, report.updated, report.deleted) == (0, 0, 0)
    assert wiki.searches(with_bodies=True) == [] and wiki.page_reads() == []
    assert len(wiki.requests()) == 3  # the three listing pages, nothing else


def test_an_edit_an_add_and_a_trashed_page_give_one_each(
    tmp_path: Path, wiki: FakeConfluence, embedder: Embedder
) -> None:
    settings = wiki_settings(tmp_path, wiki)
    index_once(settings, embedder)
    wiki.edit("4", "<p>The on-call rotation changes on Tuesdays.</p>")
    wiki.add(Page("6", "Backups", "ENG", "<p>Snapshots run hourly.</p>", parent="2"))
    wiki.pages["10"].status = "trashed"
    wiki.clear_log()

    report = index_once(settings, embedder)

    assert (report.added, report.updated, report.deleted) == (1, 1, 1)
    assert stored_ids(settings, "wiki") == FIRST - {"wiki:10"} | {"wiki:6"}
    (bulk,) = {r.query["cql"] for r in wiki.searches(with_bodies=True)}
    assert 'lastmodified >= "' in bulk  # only recently edited pages are read in full
    assert "Tuesdays" in stored_chunks(settings, "wiki:4")[0].text


def test_an_outage_deletes_nothing(tmp_path: Path, wiki: FakeConfluence, embedder: Embedder) -> None:
    settings = wiki_settings(tmp_path, wiki, retries=1)
    index_once(settings, embedder)
    wiki.down = True

    report = index_once(settings, embedder)

    assert report.failed and report.deleted == 0
    assert report.errors == [
        "source 'wiki': cannot list the pages (GET /rest/api/content/search: HTTP 503 after 2 tries); "
        "Confluence may be down; nothing was changed"
    ]
    assert stored_ids(settings, "wiki") == FIRST


def test_bad_credentials_give_one_clear_line_without_the_secret(
    tmp_path: Path, wiki: FakeConfluence, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = wiki_settings(tmp_path, wiki)
    index_once(settings, embedder)
    monkeypatch.setenv("CONFLUENCE_API_TOKEN", "ATATT-expired-token-456")

    report = index_once(settings, embedder)

    assert report.failed and report.errors == [
        "source 'wiki': Confluence refused the credentials (HTTP 401): check CONFLUENCE_EMAIL and "
        "CONFLUENCE_API_TOKEN (an expired or revoked token?); nothing was changed"
    ]
    assert stored_ids(settings, "wiki") == FIRST
    runs = (settings.data_dir / "runs.jsonl").read_text()
    assert "expired-token" not in runs and TOKEN not in runs and json.loads(runs.splitlines()[-1])["status"] == "failed"


def test_missing_credentials_name_the_variables_to_set(
    tmp_path: Path, wiki: FakeConfluence, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONFLUENCE_API_TOKEN")

    report = index_once(wiki_settings(tmp_path, wiki), embedder)

    assert report.errors == [
        "source 'wiki': no Confluence credentials in the environment: set CONFLUENCE_EMAIL and "
        "CONFLUENCE_API_TOKEN (Cloud) or CONFLUENCE_PAT (Data Center); nothing was changed"
    ]


def test_a_data_center_personal_access_token_is_sent_as_bearer(
    tmp_path: Path, wiki: FakeConfluence, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    wiki.valid_tokens = {"dc-pat-789"}
    monkeypatch.setenv("CONFLUENCE_PAT", "dc-pat-789")

    report = index_once(wiki_settings(tmp_path, wiki, extra='cql = "label = \\"ops\\""'), embedder)

    assert report.added == 1 and not report.failed  # only the page labelled "ops"
    assert all(r.headers["authorization"] == "Bearer dc-pat-789" for r in wiki.requests())


def test_a_page_deleted_between_listing_and_fetch_is_removed_and_the_rest_indexed(
    tmp_path: Path, wiki: FakeConfluence, embedder: Embedder
) -> None:
    settings = wiki_settings(tmp_path, wiki)
    index_once(settings, embedder)
    wiki.edit("3", DEPLOYS.replace("Friday 16:00", "Thursday 18:00"))
    wiki.edit("4", "<p>The on-call rotation changes on Tuesdays.</p>")
    wiki.before_bulk_read = lambda: wiki.pages.pop("3")

    report = index_once(settings, embedder)

    assert (report.updated, report.deleted) == (1, 1) and report.errors == []
    assert stored_ids(settings, "wiki") == FIRST - {"wiki:3"}
    assert [status for request, status in wiki.log if request.path.endswith("/content/3")] == [404]


def test_a_huge_page_is_skipped_and_reported_and_blocks_nothing(
    tmp_path: Path, wiki: FakeConfluence, embedder: Embedder
) -> None:
    wiki.add(Page("7", "Changelog", "ENG", "<p>" + "release notes " * 300_000 + "</p>"))
    settings = wiki_settings(tmp_path, wiki, extra="max_bytes = 1000000")

    report = index_once(settings, embedder)

    assert stored_ids(settings, "wiki") == FIRST and report.complete and report.failed_documents == 1
    assert report.errors == ["ENG/Changelog: skipped: 4200007 bytes is over max_bytes = 1000000"]


def test_a_source_without_spaces_or_cql_is_a_config_error(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, '[[sources]]\nname = "wiki"\ntype = "confluence"\nbase_url = "https://acme.atlassian.net/wiki"\n'
    )
    with pytest.raises(ConfigError, match=r"sources\.0: .*set `spaces = \[\"KEY\", \.\.\.\]` or a `cql` filter"):
        load_settings(config)


def test_pdf_and_word_attachments_are_indexed_when_asked_and_kept_when_unchanged(
    tmp_path: Path, wiki: FakeConfluence, embedder: Embedder
) -> None:
    wiki.attach(Attachment("att1", "handbook.pdf", "3", "ENG", handbook_pdf()))
    wiki.attach(Attachment("att2", "runbook.docx", "4", "ENG", runbook_docx()))
    wiki.attach(Attachment("att3", "diagram.png", "4", "ENG", b"\x89PNG"))
    settings = wiki_settings(tmp_path, wiki, extra="attachments = true")

    first = index_once(settings, embedder)
    wiki.clear_log()
    second = index_once(settings, embedder)

    assert stored_ids(settings, "wiki") == FIRST | {"wiki:attachment:att1", "wiki:attachment:att2"}
    assert first.added == 7 and first.errors == [] and second.unchanged == 7
    assert not [r for r in wiki.requests() if "/download/" in r.path]  # unchanged: not downloaded again
    pdf = next(c for c in stored_chunks(settings, "wiki:attachment:att1") if "escalation window" in c.text)
    assert pdf.url == f"{wiki.base_url()}/download/attachments/3/handbook.pdf#page=2"


def test_a_shutdown_during_a_long_retry_after_ends_the_sync_at_once_and_deletes_nothing(
    tmp_path: Path, wiki: FakeConfluence, embedder: Embedder
) -> None:
    from bot.store import open_store
    from indexer.pipeline import Indexer

    settings = wiki_settings(tmp_path, wiki)
    index_once(settings, embedder)
    wiki.throttle(1, retry_after=60)  # a sync that would wait a minute
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    store = open_store(settings)
    try:
        started = time.monotonic()
        (report,) = Indexer(settings, store, embedder, stop=stop).run()
        took = time.monotonic() - started
    finally:
        store.close()

    assert took < 5 and report.failed and report.deleted == 0
    assert report.errors == [
        "stopped by shutdown before the run finished; nothing was deleted, the next run finishes the job"
    ]
    assert stored_ids(settings, "wiki") == FIRST


def test_a_bad_schedule_is_a_config_error(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        '[[sources]]\nname = "wiki"\ntype = "confluence"\nbase_url = "https://acme.atlassian.net/wiki"\n'
        'spaces = ["ENG"]\nschedule = "every hour"\n',
    )
    with pytest.raises(ConfigError, match=r"line 6: sources\.0\.schedule: "):
        load_settings(config)


def test_a_token_under_a_variable_of_your_choosing_is_masked_in_every_log_line(
    tmp_path: Path, wiki: FakeConfluence, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`token_env` names any variable, so the fixed list of secret variables can't know it."""
    monkeypatch.delenv("CONFLUENCE_API_TOKEN")
    monkeypatch.setenv("WIKI_BOT_TOKEN", TOKEN)
    settings = wiki_settings(tmp_path, wiki, extra='token_env = "WIKI_BOT_TOKEN"')

    report = index_once(settings, embedder)

    assert not report.failed and stored_ids(settings, "wiki") == FIRST
    line = redact(f"GET /rest/api/content failed; Authorization was {EMAIL}:{TOKEN}, token tail {TOKEN[-9:]}")
    assert TOKEN not in line and TOKEN[-9:] not in line and "GET /rest/api/content failed" in line
