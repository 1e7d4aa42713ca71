"""Scheduled indexing: each source with a ``schedule`` runs on its cron, in a background thread.

Sources run one at a time (embedding saturates the CPU anyway), a late run is coalesced into
one, and every run goes through :func:`indexer.runner.run_index`, whose per-source locks keep
a scheduled run, a chat ``reindex`` and a CLI ``ragbot index`` from overlapping, across
processes too.

One at a time is safe only because no run can hang: web fetches have per-request, per-page
and per-run deadlines, and :meth:`IndexScheduler.shutdown` sets a stop that ends fetches in
flight and embedding between slices, then waits a bounded time.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from bot.embedder import Embedder
from bot.errors import ConfigError
from bot.store import Store
from indexer.config import IndexerSettings
from indexer.runner import AlreadyRunning, run_index
from indexer.runs import RunLog, SourceReport
from indexer.schedule import cron_trigger

__all__ = ["IndexScheduler"]

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 10.0  # how long shutdown waits for a run in progress to stop


class IndexScheduler:
    def __init__(self, settings: IndexerSettings, store: Store, embedder: Embedder) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.stop = threading.Event()  # set on shutdown: a running index stops between documents
        self.last_reports: dict[str, SourceReport] = {}
        self.idle = threading.Event()  # clear while a run is in progress
        self.idle.set()
        config = settings.scheduler
        self.scheduler = BackgroundScheduler(
            timezone=config.timezone,
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": config.misfire_grace_time_s},
        )
        for source in settings.sources:
            if source.schedule:
                self.scheduler.add_job(
                    self.run_source,
                    cron_trigger(source.schedule, config.jitter_s, config.timezone, key=source.name),
                    args=[source.name],
                    id=source.name,
                    name=f"index {source.name}",
                )
        if not self.scheduler.get_jobs():
            raise ConfigError(
                'no source has a schedule; add e.g. schedule = "0 * * * *" to a [[sources]] table for hourly runs'
            )

    def start(self, announce: bool = True) -> None:
        """Start the schedules; ``announce`` logs each next run (``ragbot scheduler`` prints them instead)."""
        self.scheduler.start()
        for job in self.scheduler.get_jobs() if announce else []:
            log.info("scheduled %s: next run %s", job.name, job.next_run_time)

    def trigger(self, source: str) -> None:
        """Run a source's job now, inside the scheduler (still one run at a time)."""
        job = self.scheduler.get_job(source)
        if job is None:
            raise ConfigError(f"source {source!r} has no schedule")
        job.modify(next_run_time=datetime.now(self.scheduler.timezone))

    def next_runs(self) -> dict[str, datetime | None]:
        return {job.id: job.next_run_time for job in self.scheduler.get_jobs()}

    def shutdown(self, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        """Stop scheduling, and stop a run in progress: its fetches end now, its embedding at the next slice.

        Waits at most ``grace_s`` for that run, so SIGTERM is answered even if something
        unforeseen blocks it; the index stays consistent either way (documents are written whole).
        """
        self.stop.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if not self.idle.wait(grace_s):
            log.warning("an index run is still stopping after %g s; not waiting for it", grace_s)

    def run_source(self, name: str) -> None:
        """The job: index one source. Never raises; a failure is logged and recorded in the run history."""
        self.idle.clear()
        try:
            self._run(name)
        except Exception as exc:  # e.g. the data dir is not writable: record it, keep the scheduler alive
            log.exception("scheduled run of %s failed", name)
            self._record_failure(name, exc)
        finally:
            self.idle.set()

    def _record_failure(self, name: str, exc: Exception) -> None:
        report = SourceReport(name, errors=[f"the run could not start: {exc}"], failed=True, complete=False)
        self.last_reports[name] = report
        try:
            RunLog(self.settings.data_dir).append(report)
        except OSError as error:
            log.error("cannot record the failed run of %s: %s", name, error)

    def _run(self, name: str) -> None:
        try:
            reports = run_index(self.settings, self.store, self.embedder, [name], stop=self.stop)
        except AlreadyRunning as exc:
            log.warning("scheduled run skipped: %s", exc)
            return
        for report in reports:
            self.last_reports[report.name] = report
            level = logging.ERROR if report.failed else logging.INFO
            log.log(level, "scheduled run: %s", report.summary())
            for error in report.errors[:10]:
                log.log(level, "  %s: %s", report.name, error)
