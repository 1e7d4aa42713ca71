"""Crawl the Python 3.11 docs (Debian python3.11-doc) as a `web` source served on 127.0.0.1.

Measures: the full crawl + index (pages/s), the no-change run with conditional GET (304s)
against the same run without it (every page re-downloaded and hashed), and the time from a
page edit to that edit being answerable after a triggered run.

    python bench/crawl_python_docs.py [--max-pages N] [--sequential]

The full run also prints the seconds and share of time per stage (list/fetch, parse+chunk,
embed, store write); listing and parsing overlap embedding unless --sequential.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from common import PYTHON_DOCS, machine

from bot.app.settings import load_settings
from bot.core import RagCore
from indexer.runner import run_index

EDITED_PAGE = "library/json.html"
MARKER = "The json module's internal codename for the benchmark is BLUEHERON-42."


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def serve(folder: Path) -> tuple[ThreadingHTTPServer, str]:
    """The standard library's static file server: Last-Modified and If-Modified-Since -> 304."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def timed_run(settings, core, pipelined: bool = True):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    (report,) = run_index(settings, core.store, core.embedder, pipelined=pipelined)
    return time.perf_counter() - started, report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-pages", type=int, default=5000)
    parser.add_argument("--sequential", action="store_true", help="list and parse before embedding, not meanwhile")
    args = parser.parse_args()
    if not PYTHON_DOCS.is_dir():
        raise SystemExit("install Debian's python3.11-doc first: apt-get install python3.11-doc")
    work = Path(tempfile.mkdtemp(prefix="ragbot-crawl-"))
    site = work / "site"
    shutil.copytree(PYTHON_DOCS, site, symlinks=False)
    server, url = serve(site)
    config = work / "ragbot.toml"
    config.write_text(
        f"""data_dir = "{work / "data"}"
[[sources]]
name = "python"
type = "web"
urls = ["{url}/index.html"]
exclude = ["/_sources/*", "/genindex*", "/search.html"]
max_pages = {args.max_pages}
concurrency = 4
"""
    )
    settings = load_settings(config)
    core = RagCore(settings)
    _ = core.embedder.dimension  # load the encoder before timing
    print(f"machine: {machine()}")

    full_s, full = timed_run(settings, core, pipelined=not args.sequential)
    pages = full.added
    print(
        f"full crawl+index ({'sequential' if args.sequential else 'pipelined'}): {full_s:.1f} s, {pages} pages "
        f"({pages / full_s:.2f} pages/s), {full.chunks_embedded} chunks, fetched {full.fetched}, "
        f"failed {full.failed_documents}, complete {full.complete}"
    )
    stages = ("list_fetch", "parse_chunk", "embed", "store_write")
    print(
        "  stages: "
        + ", ".join(f"{s} {full.stages[s + '_s']:.1f} s ({100 * full.stages[s + '_share']:.0f}%)" for s in stages)
    )

    again_s, again = timed_run(settings, core)
    print(
        f"no-change run (conditional GET): {again_s:.2f} s = {100 * again_s / full_s:.1f}% of the full run; "
        f"unchanged {again.unchanged}, embedded {again.chunks_embedded}"
    )
    (settings.data_dir / "crawl" / "python.json").unlink()  # forget the links: every page is re-downloaded
    hashed_s, hashed = timed_run(settings, core)
    print(
        f"no-change run without conditional GET (download + hash): {hashed_s:.2f} s = "
        f"{100 * hashed_s / full_s:.1f}% of the full run; unchanged {hashed.unchanged}; "
        f"conditional GET is {hashed_s / again_s:.1f}x faster"
    )

    page = site / EDITED_PAGE
    edited = time.perf_counter()
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace("</h1>", f"</h1>\n<p>{MARKER}</p>", 1), encoding="utf-8")
    _, triggered = timed_run(settings, core)
    answer = core.ask("what is the json module's internal codename for the benchmark?")
    answerable_s = time.perf_counter() - edited
    print(
        f"edit -> answerable after a triggered run: {answerable_s:.2f} s "
        f"(updated {triggered.updated}, embedded {triggered.chunks_embedded} chunks; "
        f"answer has the edit: {'BLUEHERON-42' in answer.text}; top source {answer.citations[0].url})"
    )
    core.close()
    server.shutdown()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
