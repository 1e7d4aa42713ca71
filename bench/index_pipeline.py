"""Indexing throughput: listing+parsing overlapped with embedding (pipelined) against one step
after the other (sequential), and the wall time of `ragbot index` when nothing changed.

1. Pages/s on a fixed subset of the Python 3.11 docs (Debian python3.11-doc): every k-th page of
   the 526 HTML pages, copied to a folder served on 127.0.0.1 by the standard library's HTTP
   server and crawled as a `web` source (sitemap.xml lists the pages, max_depth = 0). Each run
   indexes into a fresh data dir with an encoder loaded beforehand; pipelined and sequential
   runs alternate, for fp32 and int8 (`embedding.precision`), and print the share of time per
   stage (indexer/stages.py). --latency-ms delays each page, as a remote site or a rate-limited
   API would: the case where overlapping fetching with embedding matters most.
2. No-op `ragbot index` on samples/handbook (already indexed), as a fresh process each time
   (median of --noop-runs): this tree against the tree before the change (`git archive` of
   --before, run with the same venv).

    python bench/index_pipeline.py [--pages 40] [--rounds 2] [--precisions fp32 int8]
                                   [--latency-ms 0] [--concurrency 4]
                                   [--noop-runs 5] [--before 85e429a^] [--skip-crawl] [--skip-noop]
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from common import PYTHON_DOCS, REPO, machine

PAGE_SKIP = ("_sources/", "_static/", "_images/", "_downloads/", "genindex", "search.html")


class _Quiet(SimpleHTTPRequestHandler):
    latency_s = 0.0  # --latency-ms: a remote site or a rate-limited API answers this much later

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.latency_s and self.path.endswith(".html"):
            time.sleep(self.latency_s)
        super().do_GET()


def subset(pages: int) -> list[str]:
    """Every k-th page of the docs (sorted paths), so the subset spans every part of them."""
    every = sorted(
        p.relative_to(PYTHON_DOCS).as_posix()
        for p in PYTHON_DOCS.rglob("*.html")
        if not any(part in p.relative_to(PYTHON_DOCS).as_posix() for part in PAGE_SKIP)
    )
    step = max(1, len(every) // pages)
    return every[::step][:pages]


def serve_subset(site: Path, pages: list[str]) -> tuple[ThreadingHTTPServer, str]:
    for page in pages:
        (site / page).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PYTHON_DOCS / page, site / page)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    entries = "".join(f"<url><loc>{url}/{page}</loc></url>" for page in pages)
    (site / "sitemap.xml").write_text(
        f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
    )
    return server, url


def crawl_config(work: Path, url: str, first_page: str, precision: str, concurrency: int) -> Path:
    config = work / f"ragbot-{precision}.toml"
    config.write_text(
        f"""data_dir = "{work / "data"}"
[embedding]
precision = "{precision}"
[[sources]]
name = "python"
type = "web"
urls = ["{url}/{first_page}"]
max_depth = 0
concurrency = {concurrency}
"""
    )
    return config


def one_crawl(config: Path, embedder, pipelined: bool):  # type: ignore[no-untyped-def]
    """Index the subset into a fresh data dir; (wall seconds, report)."""
    from bot.app.settings import load_settings
    from bot.store import open_store
    from indexer.runner import run_index

    settings = load_settings(config)
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    store = open_store(settings)
    try:
        started = time.perf_counter()
        (report,) = run_index(settings, store, embedder, pipelined=pipelined)
        return time.perf_counter() - started, report
    finally:
        store.close()


def shares(stages: dict[str, float]) -> str:
    names = ("list_fetch", "parse_chunk", "embed", "store_write")
    parts = [f"{name} {stages[f'{name}_s']:.1f} s ({100 * stages[f'{name}_share']:.0f}%)" for name in names]
    total = sum(stages[f"{name}_s"] for name in names)
    return ", ".join(parts) + f"; stages sum to {100 * total / stages['wall_s']:.0f}% of wall"


def bench_crawl(args: argparse.Namespace) -> None:
    from bot.app.settings import load_settings
    from bot.embedder import Embedder

    if not PYTHON_DOCS.is_dir():
        raise SystemExit("install Debian's python3.11-doc first: apt-get install python3.11-doc")
    work = Path(tempfile.mkdtemp(prefix="ragbot-pipeline-"))
    pages = subset(args.pages)
    _Quiet.latency_s = args.latency_ms / 1000
    server, url = serve_subset(work / "site", pages)
    print(
        f"subset: {len(pages)} pages, every {max(1, 526 // args.pages)}th of the docs, first {pages[0]}; "
        f"{args.latency_ms} ms added per page, crawl concurrency {args.concurrency}"
    )
    try:
        for precision in args.precisions:
            config = crawl_config(work, url, pages[0], precision, args.concurrency)
            settings = load_settings(config)
            embedder = Embedder(settings.embedding, cache_dir=work / "models")
            # Load the weights (and build the int8 model) and warm the kernels up before timing.
            embedder.embed([" ".join(["warm up the encoder"] * n) for n in range(1, 65)])
            results: dict[bool, list[float]] = {True: [], False: []}
            for round_ in range(args.rounds):
                for pipelined in (False, True) if round_ % 2 == 0 else (True, False):
                    seconds, report = one_crawl(config, embedder, pipelined)
                    results[pipelined].append(seconds)
                    kind = "pipelined " if pipelined else "sequential"
                    print(
                        f"  {precision} {kind}: {seconds:6.1f} s, {report.added / seconds:.2f} pages/s "
                        f"({report.added} pages, {report.chunks_embedded} chunks, "
                        f"{report.chunks_embedded / seconds:.1f} chunks/s); {shares(report.stages)}"
                    )
            seq, pipe = statistics.median(results[False]), statistics.median(results[True])
            print(
                f"{precision}: sequential {len(pages) / seq:.2f} pages/s, pipelined {len(pages) / pipe:.2f} pages/s "
                f"= {seq / pipe:.2f}x (median of {args.rounds})"
            )
    finally:
        server.shutdown()
        shutil.rmtree(work, ignore_errors=True)


def noop_seconds(tree: Path, config: Path, runs: int) -> list[float]:
    """Wall time of `python -m bot index` in a fresh process, ``tree``'s code first on the path."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(tree)}
    command = [sys.executable, "-m", "bot", "--config", str(config), "index", "--json"]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, env=env, cwd=tree, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return times


def bench_noop(args: argparse.Namespace) -> None:
    from common import indexed_handbook

    config = indexed_handbook("ragbot-noop-")
    before = Path(tempfile.mkdtemp(prefix="ragbot-before-"))
    archive = subprocess.run(["git", "archive", args.before], cwd=REPO, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
    check = f"import bot, sys; sys.exit(bot.__file__ != {str(before / 'bot' / '__init__.py')!r})"
    if subprocess.run(
        [sys.executable, "-c", check], env={**os.environ, "PYTHONPATH": str(before)}, cwd=before
    ).returncode:
        raise SystemExit("the old tree does not shadow the installed one; cannot time `before`")
    try:
        now, old = [], []
        for _ in range(args.noop_runs):  # interleaved, so load on the machine hits both alike
            old += noop_seconds(before, config, 1)
            now += noop_seconds(REPO, config, 1)
        print(
            f"no-op `ragbot index` (handbook, 16 unchanged files), median of {args.noop_runs}: "
            f"before ({args.before}) {statistics.median(old):.2f} s, after {statistics.median(now):.2f} s "
            f"= {statistics.median(old) / statistics.median(now):.1f}x faster; "
            f"all runs before {[round(t, 2) for t in old]}, after {[round(t, 2) for t in now]}"
        )
    finally:
        shutil.rmtree(before, ignore_errors=True)
        shutil.rmtree(config.parent, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--precisions", nargs="+", default=["fp32", "int8"])
    parser.add_argument("--latency-ms", type=int, default=0, help="delay before each page is served")
    parser.add_argument("--concurrency", type=int, default=4, help="the web source's concurrent fetches")
    parser.add_argument("--noop-runs", type=int, default=5)
    parser.add_argument("--before", default="85e429a^", help="the revision to time the no-op run against")
    parser.add_argument("--skip-crawl", action="store_true")
    parser.add_argument("--skip-noop", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    if not args.skip_noop:
        bench_noop(args)
    if not args.skip_crawl:
        bench_crawl(args)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
