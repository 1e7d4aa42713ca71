"""Indexing with listing and parsing overlapped with embedding (issue 20): the same index as one
step after the other, no model load when nothing changed, and a failed run leaves no thread behind."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot import metrics
from bot.app.settings import AppSettings
from bot.config import EmbeddingConfig
from bot.embedder import Embedder
from bot.models import Passage, point_id
from bot.store import DocumentState, open_store
from indexer.feed import QUEUE_DOCUMENTS
from indexer.runner import run_index
from indexer.runs import SourceReport
from indexer.stages import BusyTime
from tests.support.docsite import DocsSite, page, send
from tests.support.processes import run_cli
from tests.support.project import REPO, SAMPLES, handbook_config
from tests.support.web_sites import web_settings


def index(settings: AppSettings, embedder: Embedder, **options: Any) -> SourceReport:
    store = open_store(settings)
    try:
        (report,) = run_index(settings, store, embedder, **options)
        return report
    finally:
        store.close()


def snapshot(settings: AppSettings) -> tuple[dict[str, DocumentState], dict[str, Passage], np.ndarray]:
    """Every stored document's state, every live chunk by point id, and their vectors in id order."""
    store = open_store(settings)
    try:
        states = store.document_states()
        ids = sorted(point_id(doc_id, i) for doc_id, state in states.items() for i in range(state.index_end))
        passages = {point_id(p.doc_id, p.chunk_index): p for p in store.fetch(ids)}
        return states, passages, store.vectors(ids)
    finally:
        store.close()


def loads() -> float:
    return metrics.MODEL_LOADS.labels("embedder")._value.get()


def listing_threads() -> list[threading.Thread]:
    """The producer and crawl threads of any run still alive."""
    return [t for t in threading.enumerate() if t.name.startswith(("index-", "crawl")) and t.is_alive()]


def broken_display(source: str, embedded: int, planned: int) -> None:
    raise RuntimeError("the progress display broke")


def stored(settings: AppSettings, source: str) -> set[str]:
    store = open_store(settings)
    try:
        return set(store.document_states(source))
    finally:
        store.close()


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[DocsSite]:
    docs = DocsSite(tmp_path / "site")
    yield docs
    docs.close()


def edit_two_and_break_one(docs: Path) -> None:
    """One changed page, one gone, one that cannot be read: a run with every kind of outcome."""
    deploys = docs / "deploys.md"
    deploys.write_text(deploys.read_text() + "\n\n## Rollbacks\n\nRoll back with `deploy --undo` within an hour.\n")
    (docs / "databases.md").unlink()
    (docs / "broken.md").write_bytes(b"\xff\xfe not utf-8 \x00")


def test_the_pipelined_run_builds_the_same_index_as_the_sequential_one(
    tmp_path: Path, settings_for, handbook: Path
) -> None:
    # fp32: int8 quantises activations per batch, so its vectors move a little with what shares
    # the batch, and the pipelined run may batch differently (it embeds sooner when waiting).
    embedder = Embedder(EmbeddingConfig(precision="fp32"))
    pipelined = settings_for(handbook)
    sequential = settings_for(handbook)
    sequential.data_dir = tmp_path / "sequential"

    first = [index(pipelined, embedder), index(sequential, embedder, pipelined=False)]
    edit_two_and_break_one(handbook)
    second = [index(pipelined, embedder), index(sequential, embedder, pipelined=False)]

    untimed = {"started_at": "", "finished_at": ""}
    for a, b in (first, second):
        assert a.to_json() | untimed == b.to_json() | untimed
    assert second[0].updated == 1 and second[0].deleted == 1 and second[0].failed_documents == 1
    assert any("broken.md" in error for error in second[0].errors)  # one bad document, the run went on
    states_p, passages_p, vectors_p = snapshot(pipelined)
    states_s, passages_s, vectors_s = snapshot(sequential)
    assert states_p == states_s and len(states_p) == 15
    assert passages_p == passages_s
    assert vectors_p.shape == vectors_s.shape and float(np.abs(vectors_p - vectors_s).max()) < 1e-4


def test_an_unchanged_reindex_never_loads_the_model(embedder: Embedder, settings_for, handbook: Path) -> None:
    settings = settings_for(handbook)
    index(settings, embedder)
    fresh = Embedder(EmbeddingConfig())  # as a new `ragbot index` process has it: nothing loaded
    spinner: list[str] = []

    def loading(load: Callable[[], object]) -> None:
        spinner.append("loading the embedding model…")
        load()

    before = loads()
    report = index(settings, fresh, loading=loading)
    assert report.unchanged == 16 and report.chunks_embedded == 0
    assert spinner == [] and not fresh.loaded and loads() == before

    (handbook / "deploys.md").write_text((handbook / "deploys.md").read_text() + "\n\nFreeze on 24 December.\n")
    report = index(settings, fresh, loading=loading)
    assert report.updated == 1 and report.chunks_embedded > 0
    assert spinner == ["loading the embedding model…"] and fresh.loaded and loads() == before + 1
    assert report.stages["model_load_s"] > 0 and report.stages["embed_s"] > 0


def test_ragbot_index_with_nothing_to_do_imports_neither_torch_nor_transformers(indexed_config: Path) -> None:
    script = (
        "import sys; from bot.app.cli import main; "
        f"code = main(['--config', {str(indexed_config)!r}, 'index', '--json', '--profile']); "
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules)); sys.exit(code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    summary, heavy = result.stdout.strip().splitlines()
    assert heavy == "[]", result.stdout
    (source,) = json.loads(summary)["sources"]
    assert source["chunks_embedded"] == 0 and source["unchanged"] == 16
    profile = source["profile"]
    assert profile["model_load_s"] == 0 and profile["embed_s"] == 0 and profile["wall_s"] > 0
    assert set(profile) >= {f"{stage}_{unit}" for stage in ("list_fetch", "parse_chunk") for unit in ("s", "share")}
    table = run_cli("--config", str(indexed_config), "index", "--profile")
    assert table.returncode == 0 and "Time per stage" in table.stdout, table.stderr
    assert "list/fetch" in table.stdout and "parse+chunk" in table.stdout and "store write" in table.stdout


def test_a_run_that_fails_while_the_source_is_still_listed_leaves_no_thread_and_deletes_nothing(
    embedder: Embedder, settings_for, handbook: Path
) -> None:
    settings = settings_for(handbook)
    index(settings, embedder)
    pages = sorted(handbook.iterdir())
    assert len(pages) > QUEUE_DOCUMENTS + 2  # more than the queue holds: the listing is still under way
    for doc in pages:
        doc.write_text(doc.read_text() + "\n\nRevised.\n")
    (handbook / "onboarding.md").unlink()  # would be deleted by a run that finished

    report = index(settings, embedder, progress=broken_display)

    assert report.failed and "the progress display broke" in report.errors[-1]
    assert report.deleted == 0
    assert not listing_threads()
    assert "handbook:onboarding.md" in stored(settings, "handbook")


def test_a_failed_run_ends_a_listing_stuck_on_a_slow_page_before_it_returns(
    tmp_path: Path, site: DocsSite, embedder: Embedder
) -> None:
    # Pages that answer only after a minute, as a hung server would: the run fails meanwhile, and
    # releases the source's lock only once the crawl has stopped (or the next run would collide).
    release = threading.Event()

    def hung(handler: BaseHTTPRequestHandler) -> int:
        release.wait(60)
        return send(handler, 200, page("Late", "<p>too late</p>"))

    for path in ("/guide/*", "/reference/*", "/retired.html", "/slow.html"):
        site.route(path, hung)
    settings = web_settings(tmp_path, site)
    settings.sources[0].timeout_s = 60  # the fetch itself would wait it out
    settings.sources[0].retries = 0
    try:
        started = time.monotonic()
        report = index(settings, embedder, progress=broken_display)
        elapsed = time.monotonic() - started

        assert report.failed and "the progress display broke" in report.errors[-1] and report.deleted == 0
        assert not listing_threads(), f"still listing after the run returned ({elapsed:.1f} s)"
    finally:
        release.set()


def test_a_listing_that_fails_after_streaming_keeps_what_it_wrote_and_deletes_nothing(
    tmp_path: Path, site: DocsSite, embedder: Embedder
) -> None:
    settings = web_settings(tmp_path, site)
    assert index(settings, embedder).added == 7
    site.edit("guide/deploy.html", "</body>", "<p>Deploys freeze on Fridays after 3 pm.</p></body>")
    site.edit("sitemap.xml", "<url><loc>BASE/retired.html</loc></url>", "")  # vanished: a finished run deletes it
    site.route("/index.html", lambda handler: send(handler, 404, b"not found", "text/plain"))  # the start page

    report = index(settings, embedder)  # the sitemap's pages are read (and written) before the listing fails

    assert report.failed and "no start page could be fetched" in report.errors[-1]
    assert report.updated == 1 and report.fetched == 1 and report.deleted == 0
    assert {"docs:" + site.url + path for path in ("/index.html", "/retired.html")} <= stored(settings, "docs")


def test_a_shutdown_during_the_run_ends_it_without_deleting(embedder: Embedder, settings_for, handbook: Path) -> None:
    settings = settings_for(handbook)
    index(settings, embedder)
    pages = sorted(handbook.iterdir())
    assert len(pages) > QUEUE_DOCUMENTS + 2  # the listing still hands documents over after the stop
    for doc in pages:
        doc.write_text(doc.read_text() + "\n\nRevised.\n")
    (handbook / "onboarding.md").unlink()
    stop = threading.Event()

    def shut_down(source: str, embedded: int, planned: int) -> None:
        stop.set()  # as SIGTERM does, while the first documents are being embedded

    report = index(settings, embedder, stop=stop, progress=shut_down)

    assert report.failed and report.errors[-1].startswith("stopped by shutdown before the run finished")
    assert report.deleted == 0 and report.updated < len(pages) - 1
    assert not listing_threads()
    assert "handbook:onboarding.md" in stored(settings, "handbook")


def test_time_spent_by_threads_together_counts_once() -> None:
    # A connector may hand documents over from several threads; the listing's time is its wall
    # time less this, and must not come out negative.
    busy = BusyTime()
    start = threading.Barrier(4)

    def hand_over() -> None:
        start.wait()
        with busy.inside():
            time.sleep(0.2)

    started = time.perf_counter()
    threads = [threading.Thread(target=hand_over) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    assert 0.2 <= busy.seconds() <= wall


@pytest.mark.parametrize("pipelined", [True, False])
def test_a_shutdown_before_the_run_ends_it_without_deleting(
    embedder: Embedder, settings_for, handbook: Path, pipelined: bool
) -> None:
    settings = settings_for(handbook)
    index(settings, embedder)
    (handbook / "onboarding.md").unlink()
    (handbook / "deploys.md").write_text((handbook / "deploys.md").read_text() + "\n\nNew rule.\n")
    stop = threading.Event()
    stop.set()

    report = index(settings, embedder, stop=stop, pipelined=pipelined)

    assert report.failed and report.deleted == 0 and report.chunks_embedded == 0
    assert report.errors[-1].startswith("stopped by shutdown before the run finished")


def test_ragbot_index_sequential_lists_and_parses_before_embedding(tmp_path: Path) -> None:
    config = handbook_config(tmp_path, SAMPLES)
    sequential = run_cli("--config", str(config), "index", "--sequential", "--json", "--profile")
    assert sequential.returncode == 0, sequential.stderr
    (source,) = json.loads(sequential.stdout)["sources"]
    assert source["added"] == 16 and source["profile"]["pipelined"] is False
    again = run_cli("--config", str(config), "index", "--full", "--json", "--profile")
    (source,) = json.loads(again.stdout)["sources"]
    assert source["updated"] == 16 and source["profile"]["pipelined"] is True
