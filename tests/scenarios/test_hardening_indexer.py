"""What a hostile or broken site, or a careless folder, must not be able to do to indexing.

Issue #14 (indexer half): one bad link ending every source's run, a trickling page freezing
the scheduler, decompression bombs, crawl traps, symlinks out of a files source, malformed
answers blocking deletions for ever, and metadata addresses the guard missed. Every site
here is a real HTTP server on 127.0.0.1 (tests/support/docsite.py), answering as such sites do.
"""

from __future__ import annotations

import ipaddress
import json
import signal
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest

from bot.app.settings import load_settings
from bot.embedder import Embedder
from bot.store import open_store
from indexer.runner import run_index
from indexer.runs import RunLog
from indexer.scheduler import IndexScheduler
from indexer.sources import list_documents
from indexer.sources.web.netguard import AddressPolicy, ForbiddenAddress
from indexer.sources.web.transport import GuardedTransport
from tests.support.docsite import DocsSite, page, send
from tests.support.processes import only_json, run_cli, start_scheduler
from tests.support.project import index_once, write_config
from tests.support.web_sites import INDEXED, paths, web_settings

NEVER = "0 0 1 1 *"


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[DocsSite]:
    docs = DocsSite(tmp_path / "site")
    yield docs
    docs.close()


def add_page(site: DocsSite, relative: str, body: str) -> None:
    """A page on the site, listed in its sitemap."""
    site.write(relative, page(relative, body).decode())
    site.edit("sitemap.xml", "</urlset>", f"<url><loc>BASE/{relative}</loc></url></urlset>")


def trickle(handler: BaseHTTPRequestHandler, seconds: float = 30.0, every_s: float = 0.5) -> int:
    """Headers at once, then one byte every ``every_s``: never a read timeout, never an end."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Connection", "close")  # no length: the body ends when the server hangs up
    handler.end_headers()
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            handler.wfile.write(b"<")
            handler.wfile.flush()
            time.sleep(every_s)
    except OSError:
        pass  # the crawler hung up: what we want
    handler.close_connection = True
    return 200


def gzip_bomb(megabytes: int) -> bytes:
    """``megabytes`` MB of zeros, gzipped (about 1 KB on the wire per MB)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(1 << 20)
    return b"".join(compressor.compress(zeros) for _ in range(megabytes)) + compressor.flush()


def peak_python_mb(work) -> tuple[object, float]:  # type: ignore[no-untyped-def]
    """(result of work(), the peak of Python allocations while it ran, in MB)."""
    tracemalloc.start()
    try:
        result = work()
        return result, tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


# -- 1. a malformed link costs that link, not the run -----------------------------------
MALFORMED = [
    "http://127.0.0.1:99999/port-out-of-range.html",
    "/control\x01character.html",
    "/" + "a" * 70_000 + ".html",
    "http://[::1/unclosed-ipv6.html",
    "http://0400.0.0.1/octal-out-of-range.html",
]


def test_malformed_links_are_skipped_and_counted_and_the_crawl_completes(
    tmp_path: Path, site: DocsSite, embedder: Embedder
) -> None:
    links = "".join(f'<a href="{href}">x</a>' for href in MALFORMED)
    add_page(site, "hostile.html", f"<h1 id='h'>Hostile</h1><p>Links nobody can fetch.</p>{links}")
    settings = web_settings(tmp_path, site)

    report = index_once(settings, embedder)

    assert not report.failed and report.complete, report.errors
    assert paths(settings) == INDEXED | {"/hostile.html"}
    skipped = " ".join(w for w in report.warnings if "malformed link" in w)
    for why in ("Port out of range", "control character", "over the limit of 8192", "Invalid IPv6", "IPv4"):
        assert why in skipped, report.warnings


def test_one_broken_source_does_not_stop_the_others_and_json_still_prints(tmp_path: Path, handbook: Path) -> None:
    config = write_config(
        tmp_path,
        f"""data_dir = "{tmp_path / "data"}"
[[sources]]
name = "broken-web"
type = "web"
urls = ["http://1.2.3.4.5/"]

[[sources]]
name = "metadata-web"
type = "web"
urls = ["http://0251.0376.0251.0376/latest/meta-data/"]

[[sources]]
name = "handbook"
type = "files"
path = "{handbook}"
""",
    )

    result = run_cli("--config", str(config), "index", "--json")

    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    by_name = {s["name"]: s for s in only_json(result.stdout)["sources"]}
    assert by_name["handbook"]["status"] == "ok" and by_name["handbook"]["added"] > 0
    assert by_name["broken-web"]["status"] == "failed"
    assert "not a valid IPv4 address" in by_name["broken-web"]["errors"][0]
    # Octal is how an attacker spells 169.254.169.254: read as the address it is, then refused.
    assert "refused: 169.254.169.254" in by_name["metadata-web"]["errors"][0]
    recorded = RunLog(tmp_path / "data").last_runs()
    assert {name: run["status"] for name, run in recorded.items()} == {
        "broken-web": "failed",
        "metadata-web": "failed",
        "handbook": "ok",
    }


# -- 2. deadlines and a stop that ends fetches in flight ---------------------------------
def test_a_trickling_page_is_cut_off_by_its_deadline(tmp_path: Path, site: DocsSite) -> None:
    site.route("/trickle.html", trickle)
    add_page(site, "links-to-trickle.html", "<p>See <a href='/trickle.html'>the live log</a>.</p>")
    settings = web_settings(tmp_path, site, extra="page_deadline_s = 3")  # timeout_s = 2, retries = 1

    started = time.monotonic()
    listing = list_documents(settings.sources[0], settings, {})
    elapsed = time.monotonic() - started

    assert elapsed < 8, elapsed  # without deadlines: the 30 s the page trickles for
    (problem,) = [e for e in listing.errors if "trickle.html" in e]
    assert "page_deadline_s = 3" in problem or "timed out (timeout_s = 2 s)" in problem
    assert not listing.complete  # a timeout may pass: nothing is deleted this time


def test_the_run_deadline_ends_a_crawl_and_says_so(tmp_path: Path, site: DocsSite) -> None:
    site.route("/trickle.html", trickle)
    settings = web_settings(tmp_path, site, extra="run_deadline_s = 2\npage_deadline_s = 60")
    settings.sources[0].timeout_s = 60
    settings.sources[0].urls = [f"{site.url}/index.html", f"{site.url}/trickle.html"]

    started = time.monotonic()
    listing = list_documents(settings.sources[0], settings, {})

    assert time.monotonic() - started < 6
    assert not listing.complete
    assert any("run_deadline_s" in line for line in listing.warnings + listing.errors), listing.warnings


def test_scheduler_shutdown_stops_a_run_stuck_on_a_trickling_page(
    tmp_path: Path, site: DocsSite, embedder: Embedder
) -> None:
    site.route("/trickle.html", trickle)
    settings = web_settings(tmp_path, site, extra=f'schedule = "{NEVER}"\npage_deadline_s = 600')
    settings.sources[0].timeout_s = 60
    settings.sources[0].urls = [f"{site.url}/trickle.html"]
    store = open_store(settings)
    scheduler = IndexScheduler(settings, store, embedder)
    try:
        scheduler.start()
        scheduler.trigger("docs")
        deadline = time.monotonic() + 30
        while not site.requested("/trickle.html") and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the fetch is now in flight, reading one byte at a time

        started = time.monotonic()
        scheduler.shutdown()
        took = time.monotonic() - started
    finally:
        store.close()

    assert took < 3, took
    run = RunLog(settings.data_dir).last_runs()["docs"]
    assert run["status"] == "failed" and "stopped by shutdown" in run["errors"][-1]


def test_sigterm_ends_ragbot_scheduler_within_seconds_during_a_stuck_fetch(tmp_path: Path, site: DocsSite) -> None:
    site.route("/trickle.html", lambda handler: trickle(handler, seconds=120))
    web_settings(tmp_path, site, extra=f'schedule = "{NEVER}"\npage_deadline_s = 600')
    config = tmp_path / "ragbot.toml"
    text = config.read_text().replace(f"{site.url}/index.html", f"{site.url}/trickle.html")
    config.write_text(text.replace("timeout_s = 2", "timeout_s = 60"))
    process = start_scheduler(config, {"RAGBOT_HTTP_PORT": "0"})
    try:
        deadline = time.monotonic() + 120
        while not site.requested("/trickle.html") and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.1)
        assert site.requested("/trickle.html"), process.communicate(timeout=5)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
        took = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert took < 5, took


# -- 3. decompression bombs ------------------------------------------------------------
def test_a_gzip_bomb_sitemap_is_capped_reported_and_cheap(tmp_path: Path, site: DocsSite) -> None:
    bomb = gzip_bomb(150)  # 150 MB of zeros in 146 KB: under max_bytes = 200000 on the wire
    site.route("/sitemap-big.xml.gz", lambda handler: send(handler, 200, bomb, "application/gzip"))
    settings = web_settings(tmp_path, site, extra=f'sitemap = "{site.url}/sitemap-big.xml.gz"')

    listing, peak_mb = peak_python_mb(lambda: list_documents(settings.sources[0], settings, {}))

    assert peak_mb < 40, peak_mb  # gzip.decompress held all 150 MB
    (problem,) = [e for e in listing.errors if "sitemap-big.xml.gz" in e]
    assert "over the limit of 200000 bytes (max_bytes)" in problem and "nothing was deleted" in problem
    assert not listing.complete  # the pages it lists are unknown: delete nothing


def test_a_content_encoding_bomb_page_is_capped_while_it_streams(tmp_path: Path, site: DocsSite) -> None:
    bomb = gzip_bomb(150)
    headers = {"Content-Encoding": "gzip"}
    site.route("/bomb.html", lambda handler: send(handler, 200, bomb, headers=headers))
    add_page(site, "links-to-bomb.html", "<p>The <a href='/bomb.html'>release archive</a>.</p>")
    settings = web_settings(tmp_path, site)  # max_bytes = 200000

    listing, peak_mb = peak_python_mb(lambda: list_documents(settings.sources[0], settings, {}))

    assert peak_mb < 40, peak_mb  # httpx's decoder expands each 64 KB read to 64 MB
    (problem,) = [e for e in listing.errors if "bomb.html" in e]
    assert "over the limit of 200000 bytes (max_bytes)" in problem
    assert listing.complete  # over the cap is the same next time: it blocks no deletions


# -- 4. crawl traps --------------------------------------------------------------------
def calendar(handler: BaseHTTPRequestHandler) -> int:
    """An endless calendar: every month links to the next one and to a filtered view of itself."""
    month = int(handler.path.rsplit("/", 1)[-1].split("?")[0] or 0)
    body = (
        f"<h1 id='m'>Month {month}</h1><p>No events this month.</p>"
        f"<a href='/calendar/{month + 1}'>next</a> <a href='/calendar/{month + 1}/week/1'>week</a>"
    )
    return send(handler, 200, page(f"Month {month}", body))


def search(handler: BaseHTTPRequestHandler) -> int:
    """Faceted search: every result page links to more filter combinations."""
    query = handler.path.split("?", 1)[1] if "?" in handler.path else "page=0"
    n = len(query)
    body = f"<h1 id='r'>Results {query}</h1><p>Nothing found.</p>" + "".join(
        f"<a href='/search.html?page={n + i}&amp;sort={i}'>more</a>" for i in range(3)
    )
    return send(handler, 200, page("Search", body))


def test_crawl_traps_are_capped_reported_and_pruning_still_happens(
    tmp_path: Path, site: DocsSite, embedder: Embedder
) -> None:
    site.route("/calendar/*", calendar)
    site.route("/search.html", search)
    add_page(
        site, "events.html", "<p>See the <a href='/calendar/1'>calendar</a> and <a href='/search.html'>search</a>.</p>"
    )
    extra = "max_pages = 200\nmax_pages_per_pattern = 5\nmax_query_variants = 3\nmax_depth = 200"
    settings = web_settings(tmp_path, site, extra=extra)
    index_once(settings, embedder)

    site.edit("sitemap.xml", "<url><loc>BASE/retired.html</loc></url>", "")  # vanished from the listing
    site.delete("retired.html")
    site.clear_log()
    report = index_once(settings, embedder)

    calendar_pages = [p for p, _ in site.requests if p.startswith("/calendar/")]
    assert len(calendar_pages) <= 2 * 5, calendar_pages  # /calendar/{n} and /calendar/{n}/week/{n}
    assert len(site.requested("/search.html")) <= 3 + 1  # the bare path and 3 variants
    assert report.complete and report.deleted == 1, report.errors  # the trap did not block pruning
    assert "/retired.html" not in paths(settings)
    traps = " ".join(w for w in report.warnings if "crawl trap" in w)
    assert "/calendar/{n}" in traps and "max_pages_per_pattern = 5" in traps
    assert "max_query_variants = 3" in traps
    assert report.to_json()["warnings"] == report.warnings


# -- 5. files: nothing from outside the folder, no server paths in citations -------------
def test_files_source_skips_symlinks_out_of_its_folder_and_cites_relative_paths(
    tmp_path: Path, embedder: Embedder
) -> None:
    docs, outside = tmp_path / "docs", tmp_path / "outside"
    (docs / "handbook").mkdir(parents=True)
    outside.mkdir()
    (outside / "creds.txt").write_text("The production database password is hunter2-swordfish.\n")
    (docs / "handbook" / "on-call.md").write_text("# On-call\n\n## Paging\n\nPage the secondary after 15 minutes.\n")
    (docs / "creds.txt").symlink_to(outside / "creds.txt")
    (docs / "linked").symlink_to(outside, target_is_directory=True)
    (docs / "inside-link.md").symlink_to(docs / "handbook" / "on-call.md")
    config = write_config(
        tmp_path, f'data_dir = "{tmp_path / "data"}"\n[[sources]]\nname = "team"\ntype = "files"\npath = "{docs}"\n'
    )
    settings = load_settings(config)

    report = index_once(settings, embedder)

    store = open_store(settings)
    try:
        states = store.document_states("team")
    finally:
        store.close()
    assert set(states) == {"team:handbook/on-call.md", "team:inside-link.md"}
    assert any("creds.txt: skipped: a symlink to a file outside the source folder" in e for e in report.errors)
    assert any("linked/: skipped: a symlink to a folder outside the source folder" in e for e in report.errors)
    from bot.core import RagCore

    core = RagCore(settings)
    try:
        answer = core.ask("when do I page the secondary?")
        leaked = core.ask("production database password")
    finally:
        core.close()
    assert answer.citations[0].url in ("file:team/handbook/on-call.md#paging", "file:team/inside-link.md#paging")
    assert all(str(tmp_path) not in c.url for c in answer.citations)
    assert all("hunter2" not in c.snippet for c in leaked.citations)


# -- 6. malformed answers are permanent per-page problems ------------------------------
def test_unparseable_redirects_do_not_block_deletions(tmp_path: Path, site: DocsSite, embedder: Embedder) -> None:
    site.route("/bad-ipv6-redirect", lambda h: send(h, 302, b"", headers={"Location": "http://[::1"}))
    site.route("/bad-char-redirect", lambda h: send(h, 302, b"", headers={"Location": "/a\x01b"}))
    site.route("/bad-port-redirect", lambda h: send(h, 302, b"", headers={"Location": "http://127.0.0.1:99999/"}))
    links = "".join(f"<a href='/{name}-redirect'>{name}</a>" for name in ("bad-ipv6", "bad-char", "bad-port"))
    add_page(site, "moved.html", f"<h1 id='m'>Moved</h1><p>Pages that moved somewhere odd.</p>{links}")
    settings = web_settings(tmp_path, site)
    index_once(settings, embedder)
    site.edit("sitemap.xml", "<url><loc>BASE/retired.html</loc></url>", "")
    site.delete("retired.html")

    report = index_once(settings, embedder)

    assert report.complete and report.deleted == 1, report.errors
    for name in ("bad-ipv6", "bad-char", "bad-port"):
        (problem,) = [e for e in report.errors if f"/{name}-redirect" in e]
        assert "connection failed" not in problem, problem


def test_an_octal_start_url_is_read_as_the_address_it_spells(tmp_path: Path, site: DocsSite) -> None:
    settings = web_settings(tmp_path, site)
    port = site.url.rsplit(":", 1)[1]
    settings.sources[0].urls = [f"http://0177.0.0.1:{port}/index.html"]  # 127.0.0.1, in octal

    listing = list_documents(settings.sources[0], settings, {})

    assert listing.complete and {d.url.split(port, 1)[1] for d in listing.documents} == INDEXED
    assert all(d.url.startswith("http://127.0.0.1:") for d in listing.documents)


# -- 7. the address guard --------------------------------------------------------------
@pytest.mark.parametrize(
    "address",
    [
        "100.100.100.200",  # Alibaba Cloud metadata
        "168.63.129.16",  # Azure wire server
        "192.0.0.192",  # Oracle Cloud metadata
        "64:ff9b::a9fe:a9fe",  # NAT64 (RFC 6052) of 169.254.169.254
        "64:ff9b:1:a9fe:a9:fe00::",  # local-use NAT64 /48 (RFC 8215) of 169.254.169.254
        "64:ff9b:1::a9fe:a9fe",  # local-use NAT64 /96
        "::a9fe:a9fe",  # IPv4-compatible
        "::ffff:a9fe:a9fe",  # IPv4-mapped
        "2002:a9fe:a9fe::1",  # 6to4
    ],
)
def test_metadata_addresses_in_every_spelling_are_refused(address: str) -> None:
    with pytest.raises(ForbiddenAddress, match="link-local, metadata or denied"):
        AddressPolicy().resolve(address, 80)


def test_deny_networks_also_covers_their_nat64_and_mapped_forms() -> None:
    policy = AddressPolicy(["10.0.0.0/8"])
    for address in ("10.1.2.3", "64:ff9b::a01:203", "::ffff:10.1.2.3"):
        assert policy.is_denied(ipaddress.ip_address(address)), address
    assert not policy.is_denied(ipaddress.ip_address("64:ff9b::808:808"))  # 8.8.8.8 through NAT64
    assert not policy.is_denied(ipaddress.ip_address("::1"))


def test_the_guard_is_a_public_httpx_transport(site: DocsSite) -> None:
    transport = GuardedTransport(AddressPolicy())
    assert isinstance(transport, httpx.BaseTransport) and not isinstance(transport, httpx.HTTPTransport)
    with httpx.Client(transport=transport) as client:
        assert client.get(f"{site.url}/robots.txt").status_code == 200
        with pytest.raises(ForbiddenAddress):
            client.get("http://169.254.169.254/latest/meta-data/")


def test_reindex_of_all_sources_reports_each_even_when_one_breaks(
    tmp_path: Path, site: DocsSite, embedder: Embedder, handbook: Path
) -> None:
    """What chat `reindex` calls: one report per source, whatever a site sends."""
    add_page(site, "hostile.html", "".join(f'<a href="{href}">x</a>' for href in MALFORMED))
    settings = web_settings(tmp_path, site)
    config = tmp_path / "ragbot.toml"
    config.write_text(config.read_text() + f'\n[[sources]]\nname = "handbook"\ntype = "files"\npath = "{handbook}"\n')
    settings = load_settings(config)
    settings.sources[0].urls.append("http://127.0.0.1:99999/")  # a port no socket has
    store = open_store(settings)
    try:
        reports = run_index(settings, store, embedder)
    finally:
        store.close()
    assert [(r.name, r.failed) for r in reports] == [("docs", True), ("handbook", False)]
    assert json.loads(json.dumps([r.to_json() for r in reports]))
