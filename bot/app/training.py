"""``ragbot train`` wired to a process: settings, the run itself for the CLI, chat and scheduler.

The core (``bot/train``) trains, judges and keeps versions; this module gives it the process's
core, chat state (for feedback) and the ``[training]`` section, checks that section's cron with
the scheduler's own parser, and decides when a scheduled run has anything new to learn from.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import field_validator

from bot.errors import InputError
from bot.train.config import TrainingConfig
from bot.train.registry import Registry

if TYPE_CHECKING:  # the run imports torch: only commands that train pay for it
    from bot.chatstate import ChatState
    from bot.core import RagCore
    from bot.train.run import TrainOptions, TrainReport

__all__ = ["TrainingSettings", "train", "default_options", "scheduled_run", "start_training_schedule", "TRAIN_LOCK"]

log = logging.getLogger(__name__)

# One training run per process at a time (chat, schedule); the CLI is its own process.
TRAIN_LOCK = threading.Lock()


class TrainingSettings(TrainingConfig):
    """``[training]`` with its ``schedule`` checked like a source's: a bad cron fails at load."""

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is not None:
            from indexer.schedule import cron_trigger

            cron_trigger(value)  # raises ValueError with the reason
        return value


def train(
    settings,  # AppSettings: the root's settings, with [training]
    core: RagCore,
    state: ChatState | None,
    options: TrainOptions,
    progress: Callable[[str, int, int], None] | None = None,
) -> TrainReport:
    """One run now; refused if another run is going on in this process."""
    from bot.train.run import run_training

    if not TRAIN_LOCK.acquire(blocking=False):
        raise InputError("a training run is already going on in this process; wait for it to finish")
    try:
        return run_training(settings, settings.training, core, options, state, progress)
    finally:
        TRAIN_LOCK.release()


def default_options(settings) -> TrainOptions:
    """What a chat or scheduled run uses: the [training] section as written."""
    from bot.train.run import TrainOptions

    training: TrainingConfig = settings.training
    return TrainOptions(
        qa_files=tuple(training.qa),
        corpus=training.corpus,
        feedback=training.feedback,
        max_minutes=training.max_minutes,
        seed=training.seed,
    )


def scheduled_run(settings, core: RagCore, state: ChatState | None) -> TrainReport | None:
    """The scheduler's job: train unless ``require_new_feedback`` and no vote came since the last
    model was trained; None when skipped (logged either way)."""
    training: TrainingConfig = settings.training
    votes = sum(state.feedback_counts().values()) if state is not None else 0
    versions = Registry(settings.data_dir / "models").versions()
    last = versions[-1].meta.get("feedback_votes") if versions else None
    if training.require_new_feedback and last is not None and votes <= int(last):
        log.info("scheduled training skipped: no new feedback since %s (%d votes)", versions[-1].name, votes)
        return None
    report = train(settings, core, state, default_options(settings))
    log.info("scheduled training: %s", report.summary().replace("\n", "; "))
    return report


def start_training_schedule(settings, core: RagCore, state: Callable[[], ChatState]) -> Callable[[], None]:
    """Run ``[training] schedule`` in the background (``serve``, ``scheduler``); returns the stop.

    Its own scheduler, one run at a time, missed runs coalesced: a nightly run that finds no new
    feedback is skipped (``require_new_feedback``)."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    from indexer.schedule import cron_trigger

    config = settings.scheduler
    scheduler = BackgroundScheduler(
        timezone=config.timezone,
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": config.misfire_grace_time_s},
    )

    def job() -> None:
        try:
            scheduled_run(settings, core, state())
        except Exception as exc:  # logged; the schedule, and the bot, go on
            log.error("scheduled training failed: %s", exc)

    trigger = cron_trigger(settings.training.schedule, config.jitter_s, config.timezone)
    scheduler.add_job(job, trigger, id="train", name="train the query encoder")
    scheduler.start()
    log.info("scheduled training: next run %s", scheduler.get_job("train").next_run_time)
    return lambda: scheduler.shutdown(wait=False)
