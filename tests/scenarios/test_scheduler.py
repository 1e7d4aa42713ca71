"""Keeping the index fresh: the real APScheduler, one run per source at a time, crash safety of a crawl."""

from __future__ import annotations

import json
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.embedder import Embedder
from bot.store import open_store
from indexer.runner import AlreadyRunning, run_index
from indexer.runs import RunLog
from indexer.schedule import cron_trigger
from indexer.scheduler import IndexScheduler
from tests.support.crashes import index_and_kill_after
from tests.support.docsite import DocsSite
from tests.support.processes import only_json, run_cli, start_scheduler
from tests.support.project import index_once
from tests.support.serving import free_port, get
from tests.support.web_sites import INDEXED, paths, web_settings

NEVER = "0 0 1 1 *"  # once a year: only a trigger makes these tests' jobs run


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[DocsSite]:
    docs = DocsSite(tmp_path / "site")
    yield docs
    docs.close()


def wait_until(check, timeout: float = 120.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_cron_weekdays_follow_crontab_not_apscheduler_numbering() -> None:
    wednesday = datetime(2026, 11, 25, 12, 5, tzinfo=UTC)
    assert cron_trigger("0 9 * * 0", timezone="UTC").get_next_fire_time(None, wednesday).strftime("%a") == "Sun"
    assert cron_trigger("0 9 * * 7", timezone="UTC").get_next_fire_time(None, wednesday).strftime("%a") == "Sun"
    assert cron_trigger("0 9 * * 1-5", timezone="UTC").get_next_fire_time(None, wednesday).strftime("%a") == "Thu"
    assert cron_trigger("@hourly", timezone="UTC").get_next_fire_time(None, wednesday).hour == 13
    with pytest.raises(ValueError, match="5 fields"):
        cron_trigger("every hour")


def test_bad_schedule_is_a_config_error(tmp_path: Path, site: DocsSite) -> None:
    from bot.errors import ConfigError

    with pytest.raises(ConfigError, match=r"sources\.0\.schedule.*61"):
        web_settings(tmp_path, site, extra='schedule = "61 * * * *"')


def test_the_scheduler_runs_a_source_job(tmp_path: Path, site: DocsSite, embedder: Embedder) -> None:
    from bot.calibration import META_KEY

    settings = web_settings(tmp_path, site, extra=f'schedule = "{NEVER}"')
    store = open_store(settings)
    scheduler = IndexScheduler(settings, store, embedder)
    try:
        scheduler.start()
        (job,) = scheduler.scheduler.get_jobs()
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 600)
        assert job.next_run_time.year >= 2027 and job.trigger.jitter == 30
        scheduler.trigger("docs")
        run = wait_until(lambda: RunLog(settings.data_dir).last_runs().get("docs"))
        anchors = wait_until(lambda: store.meta().get(META_KEY))  # measured on the changed index
        chunks = store.count()
    finally:
        scheduler.shutdown()
        store.close()

    assert run["status"] == "partial" and run["added"] == len(INDEXED)  # partial: the huge page
    assert paths(settings) == INDEXED
    assert anchors["chunks"] == chunks


def test_concurrent_triggers_run_once(
    tmp_path: Path, site: DocsSite, embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    settings = web_settings(tmp_path, site, extra=f'schedule = "{NEVER}"')
    site.slow_s = 1.5  # under timeout_s = 2: the run lasts long enough to collide with
    store = open_store(settings)
    scheduler = IndexScheduler(settings, store, embedder)
    first: list = []
    worker = threading.Thread(target=lambda: first.extend(run_index(settings, store, embedder)))
    try:
        scheduler.start()
        worker.start()
        wait_until(lambda: site.requested("/index.html"))  # the manual run holds the lock now
        with pytest.raises(AlreadyRunning, match="already being indexed"):
            run_index(settings, store, embedder, ["docs"])
        scheduler.trigger("docs")  # the scheduled job finds the source busy and skips
        worker.join(timeout=60)
        # The scheduled job has ended once it logged its skip, or recorded a run of its own.
        wait_until(lambda: "scheduled run skipped" in caplog.text or len(RunLog(settings.data_dir).records()) > 1)
    finally:
        scheduler.shutdown()
        store.close()

    assert len(first) == 1 and first[0].added == len(INDEXED)
    assert len(RunLog(settings.data_dir).records()) == 1
    assert site.requested("/robots.txt") == [200]


def test_kill_during_a_crawl_then_rerun(tmp_path: Path, site: DocsSite, embedder: Embedder) -> None:
    pages = [f"guide/topic-{i:02}.html" for i in range(40)]
    entries = ""
    for i, page in enumerate(pages):
        body = " ".join(f"Topic {i} rule {n}: keep service {i} settings in the vault." for n in range(60))
        site.write(page, f"<html><body><h1 id='t{i}'>Topic {i}</h1><p>{body}</p></body></html>")
        entries += f"<url><loc>BASE/{page}</loc></url>"
    site.edit("sitemap.xml", "</urlset>", entries + "</urlset>")
    settings = web_settings(tmp_path, site)
    config = tmp_path / "ragbot.toml"

    index_and_kill_after(config, writes=5)

    partial = paths(settings)  # asserts every stored document is whole
    assert 5 <= len(partial) < len(INDEXED) + len(pages)

    report = index_once(settings, embedder)

    assert report.complete and report.added == len(INDEXED) + len(pages) - len(partial)
    assert paths(settings) == INDEXED | {f"/{page}" for page in pages}


def test_ragbot_scheduler_command_runs_and_stops_cleanly(tmp_path: Path, site: DocsSite) -> None:
    settings = web_settings(tmp_path, site, extra=f'schedule = "{NEVER}"')
    config = tmp_path / "ragbot.toml"
    port = free_port()
    process = start_scheduler(
        config,
        {"SLACK_BOT_TOKEN": "xoxb-never-printed", "RAGBOT_HTTP_HOST": "127.0.0.1", "RAGBOT_HTTP_PORT": str(port)},
    )
    try:
        wait_until(lambda: RunLog(settings.data_dir).last_runs().get("docs") or process.poll() is not None)
        assert process.poll() is None, process.communicate()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            scraped = response.read().decode()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as response:
            assert json.loads(response.read())["status"] == "ready"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "scheduled docs: next run 2027-01-01 00:00:" in out  # plus up to jitter_s = 30
    assert "scheduled run: docs: done" in err and "xoxb" not in out + err
    assert 'ragbot_index_runs_total{source="docs",status="partial"} 1.0' in scraped
    assert f'ragbot_index_documents_total{{change="added",source="docs"}} {float(len(INDEXED))}' in scraped

    status = only_json(run_cli("--config", str(config), "status", "--json").stdout)
    (source,) = status["sources"]
    assert source["schedule"] == NEVER and source["next_run"].startswith("2027-01-01T00:00:00")
    assert source["last_status"] == "partial" and status["recent_runs"][0]["added"] == len(INDEXED)
    assert json.loads(json.dumps(status))  # plain JSON all the way down


def test_scheduler_without_schedules_says_what_to_add(tmp_path: Path, site: DocsSite) -> None:
    web_settings(tmp_path, site)
    result = run_cli("--config", str(tmp_path / "ragbot.toml"), "scheduler")
    assert result.returncode == 2 and "no source has a schedule" in result.stderr


def test_ragbot_scheduler_rides_out_a_qdrant_server_that_is_down_at_start(tmp_path: Path, site: DocsSite) -> None:
    web_settings(tmp_path, site, extra=f'schedule = "{NEVER}"')
    config = tmp_path / "ragbot.toml"
    port, dead = free_port(), free_port()
    process = start_scheduler(
        config,
        {
            "QDRANT_URL": f"http://admin:s3cret-pass@127.0.0.1:{dead}",
            "RAGBOT_HTTP_HOST": "127.0.0.1",
            "RAGBOT_HTTP_PORT": str(port),
        },
    )
    try:

        def readyz() -> tuple[int, str] | None:
            try:
                return get(port, "/readyz")
            except OSError:  # not listening yet
                return None if process.poll() is None else (0, "exited")

        wait_until(lambda: readyz() is not None)
        status, body = readyz() or (0, "")
        assert process.poll() is None, process.communicate()
        assert status == 503 and "qdrant unreachable" in body and "s3cret-pass" not in body
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "s3cret-pass" not in out + err
