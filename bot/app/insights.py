"""The question log's jobs and the admin page, wired into ``ragbot serve`` and ``ragbot scheduler``.

- :func:`admin_routes`: ``/admin`` on the ops HTTP server, over the process's core, chat state
  and the indexer's admin operations (the same :class:`~bot.app.admin.IndexAdmin` the chat uses).
- :func:`start_insights_schedule`: in the process that runs schedules, prune the question log
  to ``[insights] retention_days`` (at start and daily) and post the weekly gaps digest to
  ``[insights] digest_channel``.
- :func:`post_digest`: that post, to Slack (Web API) or Discord (REST), with mentions off.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from pydantic import field_validator

from bot.access import Conversation, sets_for
from bot.config import InsightsConfig
from bot.errors import ConfigError
from bot.logs import redact, register_secrets

if TYPE_CHECKING:
    from aiohttp import web

    from bot.app.build import Runtime
    from bot.app.settings import AppSettings
    from bot.chatstate import ChatState
    from bot.core import RagCore

__all__ = [
    "ADMIN_TOKEN_VAR",
    "InsightsSettings",
    "admin_routes",
    "post_digest",
    "prune_log",
    "start_insights_schedule",
    "PRUNE_SCHEDULE",
]

log = logging.getLogger(__name__)

ADMIN_TOKEN_VAR = "RAGBOT_ADMIN_TOKEN"
PRUNE_SCHEDULE = "17 3 * * *"  # daily, at a quiet hour
DIGEST_DAYS = 7.0
_DISCORD_LIMIT = 2000


class InsightsSettings(InsightsConfig):
    """``[insights]`` with ``digest_schedule`` checked like a source's cron: a bad one fails at load."""

    @field_validator("digest_schedule")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from indexer.schedule import cron_trigger

        cron_trigger(value)  # ValueError with the reason
        return value


def admin_routes(app: Runtime) -> list[web.RouteDef]:
    """``/admin`` for this process (a "turned off" page unless ``RAGBOT_ADMIN_TOKEN`` is set)."""
    from bot.app.admin import IndexAdmin
    from bot.webadmin import MIN_TOKEN_CHARS, AdminSite

    token = os.environ.get(ADMIN_TOKEN_VAR, "").strip()
    register_secrets(token)  # masked in every log line, error and page from now on
    state = app.chat_state()
    site = AdminSite(app.core, state, IndexAdmin(app.settings, app.core, state), token)
    port = app.settings.http.port
    if site.enabled:
        log.info("admin page on the ops port %s at /admin", port)
    elif token:
        log.warning("%s is shorter than %d characters: the admin page stays off", ADMIN_TOKEN_VAR, MIN_TOKEN_CHARS)
    else:
        log.info("admin page off (set %s to turn it on)", ADMIN_TOKEN_VAR)
    return site.routes()


def prune_log(settings: AppSettings, state: ChatState) -> int:
    """Apply ``retention_days`` now; how many questions were deleted. Never raises (a job)."""
    from bot.insights.log import QuestionLog

    try:
        return QuestionLog(state, settings.insights, settings.access).prune()
    except Exception as exc:  # the chat state is unreachable: the next run tries again
        log.warning("question log: pruning failed: %s", redact(str(exc)))
        return 0


def post_digest(settings: AppSettings, core: RagCore, state: ChatState, days: float = DIGEST_DAYS) -> str | None:
    """Post the gaps of the last ``days`` days to ``[insights] digest_channel``; the text posted
    (None when no channel is configured). Only what that channel may read is included: questions
    asked where more was readable, and pages outside its sets, stay out."""
    from bot.insights.digest import digest_text
    from bot.insights.report import gap_report

    target = settings.insights.digest_channel
    if not target:
        return None
    prefix, channel = target.split(":", 1)
    platform: Literal["slack", "discord"] = "slack" if prefix == "slack" else "discord"
    if platform == "slack" and settings.slack is None:
        raise ConfigError(f"[insights] digest_channel is {target!r} but SLACK_BOT_TOKEN is not set")
    if platform == "discord" and settings.discord is None:
        raise ConfigError(f"[insights] digest_channel is {target!r} but DISCORD_BOT_TOKEN is not set")
    # Privacy unknown without asking the platform: judged as a private channel (its own rule only).
    view = sets_for(settings.access, Conversation(platform, channel=channel, is_private=True))
    report = gap_report(core, state, since_s=days * 86400.0, view_sets=view)
    text = digest_text(report, platform, days=days)
    if platform == "slack":
        _post_slack(settings, channel, text)
    else:
        _post_discord(settings, channel, text)
    log.info("gaps digest posted to %s (%d gaps)", target, len(report.gaps))
    return text


def _post_slack(settings: AppSettings, channel: str, text: str) -> None:
    from slack_sdk import WebClient

    assert settings.slack is not None
    client = WebClient(token=settings.slack.bot_token, base_url=settings.slack.api_url)
    client.chat_postMessage(channel=channel, text=text, unfurl_links=False, unfurl_media=False)


def _post_discord(settings: AppSettings, channel: str, text: str) -> None:
    import httpx

    assert settings.discord is not None
    headers = {"Authorization": f"Bot {settings.discord.bot_token}"}
    with httpx.Client(base_url=settings.discord.api_url.rstrip("/"), headers=headers, timeout=30) as client:
        for part in _parts(text, _DISCORD_LIMIT):
            body = {"content": part, "allowed_mentions": {"parse": []}}
            client.post(f"/channels/{channel}/messages", json=body).raise_for_status()


def _parts(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, split between lines."""
    parts, current = [], ""
    for line in text.splitlines():
        line = line[:limit]
        if current and len(current) + 1 + len(line) > limit:
            parts.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    return [*parts, current] if current else parts


def start_insights_schedule(settings: AppSettings, app: Runtime) -> Callable[[], None]:
    """Prune now and daily; post the digest on ``digest_schedule`` if a channel is set. Returns the stop."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    from indexer.schedule import cron_trigger

    config = settings.scheduler
    scheduler = BackgroundScheduler(
        timezone=config.timezone,
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": config.misfire_grace_time_s},
    )
    scheduler.add_job(
        lambda: prune_log(settings, app.chat_state()),
        cron_trigger(PRUNE_SCHEDULE, None, config.timezone),
        id="prune-questions",
        name="prune the question log",
    )
    if settings.insights.digest_channel:

        def digest() -> None:
            try:
                post_digest(settings, app.core, app.chat_state())
            except Exception as exc:  # logged; the next week tries again
                log.error("gaps digest not posted: %s", redact(str(exc)))

        trigger = cron_trigger(settings.insights.digest_schedule, config.jitter_s, config.timezone)
        scheduler.add_job(digest, trigger, id="gaps-digest", name="post the gaps digest")
    scheduler.start()
    scheduler.add_job(lambda: prune_log(settings, app.chat_state()), id="prune-at-start")  # once, now
    for job in scheduler.get_jobs():
        if job.id != "prune-at-start":
            log.info("scheduled %s: next run %s", job.name, job.next_run_time)
    return lambda: scheduler.shutdown(wait=False)
