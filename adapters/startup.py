"""Start-up checks shared by the chat adapters: wait out a platform that is down, stop on a token
it rejects.

A platform that cannot be reached (network error, 5xx, 429) is asked again with backoff, one log
line per attempt and no traceback, for as long as it takes, but a stop (SIGTERM, SIGINT) ends
the wait at once. A token the platform rejects is a :class:`~bot.errors.ConfigError` whose one
line names the token and where to get a good one: retrying would never help.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["Unreachable", "Stopped", "retry_until_answered", "until_stopped", "FIRST_DELAY_S", "MAX_DELAY_S"]

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_DELAY_S = 1.0
MAX_DELAY_S = 30.0


class Unreachable(Exception):
    """The platform could not give an answer (connection refused, timeout, 5xx, rate limited);
    asking again later may work. The message is one line, fit for a log."""


async def retry_until_answered(
    check: Callable[[], Awaitable[T]],
    what: str,
    stop: asyncio.Event,
    *,
    first_delay_s: float = FIRST_DELAY_S,
    max_delay_s: float = MAX_DELAY_S,
) -> T | None:
    """``check()``'s answer, asking again with doubling delays while it raises :class:`Unreachable`.

    None when ``stop`` is set first. Anything else ``check`` raises (a rejected token) ends the
    retries and propagates."""
    delay = first_delay_s
    attempt = 1
    while not stop.is_set():
        try:
            return await until_stopped(check(), stop)
        except Stopped:
            return None
        except Unreachable as exc:
            log.warning("%s: %s; attempt %d failed, retrying in %.0f s", what, exc, attempt, delay)
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
        except TimeoutError:
            pass
        delay = min(delay * 2, max_delay_s)
        attempt += 1
    return None


class Stopped(Exception):
    """``stop`` was set before the awaited work finished (the work was cancelled)."""


async def until_stopped(work: Awaitable[T], stop: asyncio.Event) -> T:
    """``work``'s result, or :class:`Stopped` as soon as ``stop`` is set (``work`` is then
    cancelled): a request hanging on a black-holed network must not hold up a SIGTERM."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)  # its outcome no longer matters
        raise Stopped
    return task.result()
