"""Reliability probes for the crawler: what a hostile or broken site can do to one crawl.

Each probe serves a site on 127.0.0.1 that misbehaves in one way, crawls it with the real
crawler (no embedding: the crawl is what a site controls), and checks that the crawl
*held*: it finished, it reported the problem, it kept what it may delete right, and its
memory stayed bounded. Each probe runs in a fresh process so its peak resident memory is
its own.

    .venv/bin/python bench/reliability_indexer.py            # every probe, a table
    .venv/bin/python bench/reliability_indexer.py --json     # the same, as JSON lines
    .venv/bin/python bench/reliability_indexer.py --probe gzip-sitemap-bomb

Goal (issue #14): every try held, and peak memory of a crawl under 1 GB whatever the site sends.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BOMB_MB = 1024  # decompressed size of each bomb: 1 GB of zeros, about 1 MB on the wire
MEMORY_GOAL_MB = 1024


# -- a hostile site --------------------------------------------------------------------
Answer = Callable[[BaseHTTPRequestHandler], None]


class Site:
    """A tiny HTTP server: each path answers with a function; "/prefix/*" routes a subtree."""

    def __init__(self, routes: dict[str, Answer]) -> None:
        self.routes = routes
        self.requests: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                site.requests.append(self.path)
                path = self.path.split("?", 1)[0]
                for pattern, answer in site.routes.items():
                    if path == pattern or (pattern.endswith("*") and path.startswith(pattern[:-1])):
                        return answer(self)
                return send(self, 404, b"not found", "text/plain")

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes, kind: str = "text/html", **headers: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", kind)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()
    try:
        handler.wfile.write(body)
    except OSError:
        pass  # the crawler stopped reading: expected for bombs


def html(body: str) -> bytes:
    return f"<!DOCTYPE html><html><head><title>t</title></head><body><main>{body}</main></body></html>".encode()


def page(body: str) -> Answer:
    return lambda handler: send(handler, 200, html(body))


def bomb(megabytes: int, wbits: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    zeros = bytes(1 << 20)
    return b"".join(compressor.compress(zeros) for _ in range(megabytes)) + compressor.flush()


# -- running one crawl -----------------------------------------------------------------
@dataclass
class Outcome:
    probe: str
    tried: int = 0
    held: int = 0
    lost: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    peak_python_mb: float = 0.0

    def check(self, ok: bool, what: str) -> None:
        self.tried += 1
        if ok:
            self.held += 1
        else:
            self.lost += 1
            self.notes.append(f"lost: {what}")


def crawl(site: Site, start: str, extra: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    """One crawl of ``site`` with the real crawler; its Listing."""
    from bot.app.settings import AppSettings
    from indexer.config import WebSource
    from indexer.sources import list_documents

    data = Path(tempfile.mkdtemp(prefix="ragbot-probe-"))
    options: dict[str, object] = {"sitemap": False, "retries": 0, "timeout_s": 5, **(extra or {})}
    source = WebSource(name="probe", type="web", urls=[site.url + start], **options)  # type: ignore[arg-type]
    settings = AppSettings(data_dir=data, sources=[source])
    return list_documents(source, settings, {})


# -- the probes ------------------------------------------------------------------------
def probe_gzip_sitemap_bomb(out: Outcome) -> None:
    """A sitemap.xml.gz that is 1 GB once decompressed (the issue's 2.6 GB of memory)."""
    payload = bomb(BOMB_MB, zlib.MAX_WBITS | 16)
    site = Site(
        {
            "/index.html": page("<p>home</p>"),
            "/sitemap.xml.gz": lambda h: send(h, 200, payload, "application/gzip"),
        }
    )
    try:
        listing = crawl(site, "/index.html", {"sitemap": site.url + "/sitemap.xml.gz"})
    finally:
        site.close()
    problem = [e for e in listing.errors if "sitemap.xml.gz" in e and "max_bytes" in e]
    out.check(bool(problem), "the bomb is reported as an error of that sitemap")
    out.check(not listing.complete, "nothing is deleted while the sitemap cannot be read")
    out.notes.append(f"{len(payload) // 1024} KB on the wire")


def probe_content_encoding_bombs(out: Outcome) -> None:
    """Pages and a sitemap whose Content-Encoding (gzip, deflate) expands to 1 GB."""
    gz, deflate = bomb(BOMB_MB, zlib.MAX_WBITS | 16), bomb(BOMB_MB, zlib.MAX_WBITS)
    site = Site(
        {
            "/index.html": page("<a href='/gz.html'>a</a> <a href='/deflate.html'>b</a>"),
            "/gz.html": lambda h: send(h, 200, gz, Content_Encoding="gzip"),
            "/deflate.html": lambda h: send(h, 200, deflate, Content_Encoding="deflate"),
            "/sitemap.xml": lambda h: send(h, 200, gz, "application/xml", Content_Encoding="gzip"),
        }
    )
    try:
        listing = crawl(site, "/index.html", {"sitemap": site.url + "/sitemap.xml", "max_bytes": 5_000_000})
    finally:
        site.close()
    for name in ("gz.html", "deflate.html", "sitemap.xml"):
        out.check(any(name in e and "max_bytes" in e for e in listing.errors), f"{name} capped and reported")


def probe_crawl_traps(out: Outcome) -> None:
    """An endless calendar, a faceted search, and relative links that nest for ever."""

    def calendar(h: BaseHTTPRequestHandler) -> None:
        month = int(h.path.rstrip("/").rsplit("/", 1)[-1] or 0)
        send(h, 200, html(f"<a href='/calendar/{month + 1}'>next</a>"))

    def search(h: BaseHTTPRequestHandler) -> None:
        n = int(h.path.split("q=", 1)[1].split("&", 1)[0])
        send(h, 200, html("".join(f"<a href='/search?q={n + 1}&amp;f={i}'>f</a>" for i in range(5))))

    site = Site(
        {
            "/index.html": page("<a href='/calendar/1'>c</a> <a href='/search?q=1'>s</a> <a href='nest/'>n</a>"),
            "/calendar/*": calendar,
            "/search": search,
            "/nest/*": lambda h: send(h, 200, html("<a href='nest/'>deeper</a> <a href='../nest/'>x</a>")),
        }
    )
    try:
        listing = crawl(site, "/index.html", {"max_pages": 5000, "max_depth": 5000})
    finally:
        site.close()
    fetched = len(site.requests)
    traps = " ".join(w for w in listing.warnings if "crawl trap" in w)
    out.check(fetched <= 500 + 100 + 5, f"pages fetched stay under the caps ({fetched})")
    out.check("max_pages_per_pattern" in traps, "the calendar is reported")
    out.check("max_query_variants" in traps, "the search is reported")
    out.check("repeat a segment" in traps, "the nesting is reported")
    out.check(listing.complete, "the listing of the rest is complete (pruning proceeds)")
    out.notes.append(f"{fetched} requests")


def probe_malformed_links(out: Outcome) -> None:
    """Links no HTTP client can fetch; each must cost only itself."""
    links = {
        "port": "http://127.0.0.1:99999/x.html",
        "control character": "/a\x01b.html",
        "70,000 characters": "/" + "a" * 70_000,
        "unclosed IPv6": "http://[::1/x",
        "invalid octal IP": "http://0400.0.0.1/",
    }
    body = "".join(f'<a href="{href}">x</a>' for href in links.values()) + "<a href='/ok.html'>ok</a>"
    site = Site({"/index.html": page(body), "/ok.html": page("<p>fine</p>")})
    try:
        listing = crawl(site, "/index.html")
    finally:
        site.close()
    skipped = " ".join(listing.warnings)
    for name, reason in zip(
        links, ("Port out of range", "control character", "over the limit", "IPv6", "IPv4"), strict=True
    ):
        out.check(reason in skipped and listing.complete and listing.fetched == 2, f"{name} link skipped")


def probe_malformed_answers(out: Outcome) -> None:
    """Redirects nobody can follow, and a garbage status line: permanent, so pruning goes on."""

    def raw(answer: bytes) -> Answer:
        def respond(h: BaseHTTPRequestHandler) -> None:
            h.wfile.write(answer)
            h.close_connection = True

        return respond

    site = Site(
        {
            "/index.html": page("".join(f"<a href='/r{i}'>r</a>" for i in range(4))),
            "/r0": lambda h: send(h, 302, b"", Location="http://[::1"),
            "/r1": lambda h: send(h, 302, b"", Location="/a\x01b"),
            "/r2": lambda h: send(h, 302, b"", Location="http://127.0.0.1:99999/"),
            "/r3": raw(b"NOT HTTP AT ALL\r\n\r\n"),
        }
    )
    try:
        listing = crawl(site, "/index.html")
    finally:
        site.close()
    for i in range(4):
        failed = [e for e in listing.errors if f"/r{i}:" in e]
        out.check(bool(failed) and "connection failed" not in failed[0], f"/r{i} is a permanent page failure")
    out.check(listing.complete, "the listing stays complete")


def probe_trickle(out: Outcome) -> None:
    """A page that sends one byte every 0.5 s for 10 minutes."""

    def trickle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Connection", "close")
        h.end_headers()
        try:
            for _ in range(1200):
                h.wfile.write(b"<")
                h.wfile.flush()
                time.sleep(0.5)
        except OSError:
            pass

    site = Site({"/index.html": page("<a href='/trickle.html'>t</a>"), "/trickle.html": trickle})
    started = time.monotonic()
    try:
        listing = crawl(site, "/index.html", {"timeout_s": 2, "page_deadline_s": 4, "retries": 1})
    finally:
        site.close()
    took = time.monotonic() - started
    out.check(took < 10, f"the crawl ends within page_deadline_s ({took:.1f} s)")
    out.check(any("trickle.html" in e for e in listing.errors), "the page is reported")


PROBES: dict[str, Callable[[Outcome], None]] = {
    "gzip-sitemap-bomb": probe_gzip_sitemap_bomb,
    "content-encoding-bombs": probe_content_encoding_bombs,
    "crawl-traps": probe_crawl_traps,
    "malformed-links": probe_malformed_links,
    "malformed-answers": probe_malformed_answers,
    "trickling-page": probe_trickle,
}


def run_probe(name: str) -> Outcome:
    """Run one probe in this process (call it in a fresh one: peak RSS is per process)."""
    out = Outcome(name)
    tracemalloc.start()
    started = time.monotonic()
    try:
        PROBES[name](out)
    except Exception as exc:  # a probe that crashes the crawl is a lost try, not a crashed bench
        out.check(False, f"crashed: {type(exc).__name__}: {exc}")
    out.seconds = round(time.monotonic() - started, 2)
    out.peak_python_mb = round(tracemalloc.get_traced_memory()[1] / 1e6, 1)
    tracemalloc.stop()
    out.peak_rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KB on Linux
    out.check(out.peak_rss_mb < MEMORY_GOAL_MB, f"peak memory under {MEMORY_GOAL_MB} MB ({out.peak_rss_mb} MB)")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--probe", choices=sorted(PROBES), help="run one probe here and print its JSON")
    parser.add_argument("--json", action="store_true", help="print one JSON line per probe")
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(run_probe(args.probe).__dict__))
        return 0
    outcomes = []
    for name in PROBES:
        result = subprocess.run(
            [sys.executable, __file__, "--probe", name],
            capture_output=True,
            text=True,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
            timeout=600,
        )
        lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
        outcome = Outcome(**json.loads(lines[-1])) if lines else Outcome(name, 1, 0, 1, [result.stderr[-500:]])
        outcomes.append(outcome)
        if args.json:
            print(json.dumps(outcome.__dict__), flush=True)
    if not args.json:
        print(f"{'probe':<24} {'tried':>5} {'held':>5} {'lost':>5} {'peak RSS MB':>12} {'py peak MB':>11} {'s':>6}")
        for o in outcomes:
            print(
                f"{o.probe:<24} {o.tried:>5} {o.held:>5} {o.lost:>5} {o.peak_rss_mb:>12} {o.peak_python_mb:>11} "
                f"{o.seconds:>6}"
            )
            for note in o.notes:
                print(f"    {note}")
    return 0 if all(o.lost == 0 for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
