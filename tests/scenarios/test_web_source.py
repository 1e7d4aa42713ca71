"""Crawling a docs site: a real HTTP server on 127.0.0.1, the real crawler, embedder and store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app.settings import load_settings
from bot.core import RagCore
from bot.embedder import Embedder
from bot.errors import ConfigError
from tests.support.docsite import DocsSite
from tests.support.project import index_once, write_config
from tests.support.web_sites import INDEXED, paths, web_settings

# What the fixture site holds that the crawler should index, by path.


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[DocsSite]:
    docs = DocsSite(tmp_path / "site")
    yield docs
    docs.close()


def test_first_crawl_indexes_the_site_and_leaves_out_what_it_should(
    tmp_path: Path, site: DocsSite, embedder: Embedder
) -> None:
    settings = web_settings(tmp_path, site)

    report = index_once(settings, embedder)

    assert paths(settings) == INDEXED
    assert report.added == len(INDEXED) and report.fetched == len(INDEXED)
    assert report.complete and not report.failed
    # The huge page is cut off at max_bytes and reported; it blocks no deletions (it is not transient).
    assert report.failed_documents == 1 and "huge.html: over the limit of 200000 bytes" in report.errors[0]
    assert site.requested("/private/secret.html") == []  # robots.txt: never fetched
    assert site.requested("/missing.html") == [404]
    assert site.requested("/old/deploying.html") == [301]
    assert site.requested("/guide/deploy.html") == [200]  # the redirect target is fetched once
    assert site.requested("/downloads/handbook.pdf") == [404]  # a PDF is a document: requested (none here)
    assert site.requested("/guide/intro-print.html") == [200]  # same page; its canonical URL dedups it
    assert site.requested("/guide/oncall.html") == [200]  # ?utm_source and #fragment stripped


def test_answers_cite_the_page_and_section_and_skip_boilerplate(
    tmp_path: Path, site: DocsSite, embedder: Embedder
) -> None:
    settings = web_settings(tmp_path, site)
    index_once(settings, embedder)
    core = RagCore(settings)
    try:
        answer = core.ask("when does the deploy freeze start?")
        nav = core.ask("NAVIGATION-BOILERPLATE FOOTER-BOILERPLATE")
    finally:
        core.close()

    assert answer.answered and "Friday at 16:00" in answer.text
    assert answer.citations[0].url == f"{site.url}/guide/deploy.html#freeze"
    assert all("BOILERPLATE" not in c.snippet for c in nav.citations)


def test_second_run_changes_only_what_changed(tmp_path: Path, site: DocsSite, embedder: Embedder) -> None:
    settings = web_settings(tmp_path, site)
    index_once(settings, embedder)
    site.clear_log()

    unchanged_run = index_once(settings, embedder)

    assert unchanged_run.chunks_embedded == 0 and unchanged_run.unchanged == len(INDEXED)
    for page in INDEXED - {"/slow.html"}:  # the generated slow page has no ETag: same hash instead
        assert site.requested(page) == [304], page

    # Change one page, add one (listed in the sitemap), delete one (gone from the sitemap).
    site.edit("guide/deploy.html", "Friday at 16:00", "Thursday at 18:00")
    site.write("guide/backups.html", "<html><body><h1 id='backups'>Backups</h1><p>Snapshots run hourly.</p></body>")
    site.edit("sitemap.xml", "BASE/retired.html", "BASE/guide/backups.html")
    site.delete("retired.html")
    site.clear_log()

    report = index_once(settings, embedder)

    assert (report.added, report.updated, report.deleted) == (1, 1, 1)
    assert report.unchanged == len(INDEXED) - 2
    assert paths(settings) == INDEXED - {"/retired.html"} | {"/guide/backups.html"}
    assert site.requested("/guide/intro.html") == [304]


def test_site_down_deletes_nothing(tmp_path: Path, site: DocsSite, embedder: Embedder) -> None:
    settings = web_settings(tmp_path, site)
    index_once(settings, embedder)
    before = paths(settings)
    site.fail_all = True

    report = index_once(settings, embedder)

    assert report.failed and not report.complete
    assert "robots.txt" in report.errors[0] and "nothing was changed" in report.errors[0]
    assert paths(settings) == before == INDEXED


def test_a_timed_out_page_blocks_deletions_but_a_404_is_removed(
    tmp_path: Path, site: DocsSite, embedder: Embedder
) -> None:
    settings = web_settings(tmp_path, site)
    index_once(settings, embedder)
    site.slow_s = 4  # longer than timeout_s = 2: a transient failure
    site.edit("sitemap.xml", "<url><loc>BASE/retired.html</loc></url>", "")  # vanished from the listing
    site.delete("reference/api.html")  # still linked: answers 404

    report = index_once(settings, embedder)

    assert not report.complete and not report.failed
    assert any("slow.html: timed out" in error for error in report.errors)
    assert report.deleted == 1
    assert paths(settings) == INDEXED - {"/reference/api.html"}  # retired.html kept: the crawl was cut short


def test_max_pages_cut_short_deletes_nothing(tmp_path: Path, site: DocsSite, embedder: Embedder) -> None:
    settings = web_settings(tmp_path, site)
    index_once(settings, embedder)

    report = index_once(web_settings(tmp_path, site, extra="max_pages = 3"), embedder)

    assert not report.complete and report.deleted == 0
    assert any("max_pages=3" in warning for warning in report.warnings)  # shown by `status` and chat
    assert report.to_json()["status"] == "partial"
    assert paths(settings) == INDEXED


def test_robots_crawl_delay_spaces_requests(tmp_path: Path, site: DocsSite, embedder: Embedder) -> None:
    site.edit("robots.txt", "Disallow: /private/", "Disallow: /private/\nCrawl-delay: 0.3")
    settings = web_settings(tmp_path, site, extra="sitemap = false\nmax_pages = 4")

    index_once(settings, embedder)

    pages = site.arrivals[1:]  # after robots.txt
    assert len(pages) == 4
    gaps = [later - earlier for earlier, later in zip(pages, pages[1:])]
    assert min(gaps) >= 0.28, gaps


def test_include_exclude_and_depth(tmp_path: Path, site: DocsSite, embedder: Embedder) -> None:
    settings = web_settings(tmp_path, site, extra='exclude = ["/guide/*"]\nsitemap = false\nmax_depth = 1')

    index_once(settings, embedder)

    assert paths(settings) == {"/index.html", "/reference/api.html", "/slow.html"}
    assert site.requested("/guide/intro.html") == [] and site.requested("/sitemap.xml") == []


@pytest.mark.parametrize(
    "start, crawl, expected",
    [
        ("http://169.254.169.254/latest/meta-data/", "", "refused: 169.254.169.254"),
        ("http://[fd00:ec2::254]/", "", "refused: fd00:ec2::254"),
        ("SITE/index.html", '[crawl]\ndeny_networks = ["127.0.0.0/8"]', "refused: 127.0.0.1"),
        ("http://localhost:PORT/index.html", '[crawl]\ndeny_networks = ["127.0.0.0/8", "::1/128"]', "localhost"),
    ],
)
def test_denied_addresses_are_never_fetched(
    tmp_path: Path, site: DocsSite, embedder: Embedder, start: str, crawl: str, expected: str
) -> None:
    start = start.replace("SITE", site.url).replace("PORT", site.url.rsplit(":", 1)[1])
    settings = web_settings(tmp_path, site, crawl=crawl)
    settings.sources[0].urls = [start]

    report = index_once(settings, embedder)

    assert report.failed and expected in report.errors[0], report.errors
    assert site.requests == []


def test_redirect_to_metadata_address_is_not_followed(tmp_path: Path, site: DocsSite, embedder: Embedder) -> None:
    from indexer.sources.web.fetch import Fetcher, FetchError
    from indexer.sources.web.netguard import AddressPolicy
    from indexer.sources.web.urls import Scope

    # The address check itself, for every form a metadata address takes.
    policy = AddressPolicy()
    for denied in ("169.254.169.254", "::ffff:169.254.169.254", "fe80::1", "fd00:ec2::254"):
        with pytest.raises(Exception, match="link-local, metadata or denied"):
            policy.resolve(denied, 80)
    assert policy.resolve("127.0.0.1", 80) == "127.0.0.1" and policy.resolve("10.1.2.3", 80) == "10.1.2.3"

    # A redirect to a metadata address: off the site, so not followed...
    options = {"user_agent": "test", "deny_networks": [], "timeout_s": 2, "retries": 0, "max_bytes": 10_000}
    on_site = Fetcher(Scope([site.url], [], []), **options, concurrency=1)
    # ...and refused at connect time even where the scope would allow that host.
    wide = Fetcher(Scope([site.url, "http://169.254.169.254/"], [], []), **options, concurrency=1)
    try:
        with pytest.raises(FetchError, match="redirects off the site"):
            on_site.get(f"{site.url}/go/metadata")
        with pytest.raises(FetchError, match="refused: 169.254.169.254"):
            wide.get(f"{site.url}/go/metadata")
    finally:
        on_site.close()
        wide.close()
    assert site.requested("/go/metadata") == [302, 302]


def test_config_refuses_non_http_schemes(tmp_path: Path) -> None:
    for url in ("file:///etc/passwd", "ftp://docs.example/", "gopher://x/"):
        config = write_config(tmp_path, f'[[sources]]\nname = "w"\ntype = "web"\nurls = ["{url}"]\n')
        with pytest.raises(ConfigError, match="only http and https are crawled"):
            load_settings(config)


def test_a_missing_start_page_is_a_clear_source_error(tmp_path: Path, site: DocsSite, embedder: Embedder) -> None:
    settings = web_settings(tmp_path, site)
    settings.sources[0].urls = [f"{site.url}/no-such-start.html"]

    report = index_once(settings, embedder)

    assert report.failed and "no-such-start.html: HTTP 404; check `urls`" in report.errors[0]
