"""Partial answers to a chat platform at a sane rate.

The core calls ``push`` from its worker thread for every piece the generator writes; the
platform sees the latest text at most once per interval, and nothing after ``close``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

__all__ = ["PartialUpdates", "PartialSink", "CURSOR"]

log = logging.getLogger(__name__)

PartialSink = Callable[[str], Awaitable[None]]
CURSOR = " …"  # shown after a partial answer: more is coming


class PartialUpdates:
    def __init__(self, send: PartialSink, interval_s: float) -> None:
        self._send = send
        self._interval_s = interval_s
        self._loop = asyncio.get_running_loop()
        self._latest = ""
        self._pending = asyncio.Event()
        self._closing = asyncio.Event()
        self._task = asyncio.create_task(self._pump())

    def push(self, text: str) -> None:
        """The answer so far; safe to call from any thread."""
        self._loop.call_soon_threadsafe(self._offer, text)

    def _offer(self, text: str) -> None:
        if not self._closing.is_set() and text.strip():
            self._latest = text
            self._pending.set()

    async def _pump(self) -> None:
        while True:
            await self._pending.wait()
            self._pending.clear()
            if self._closing.is_set():
                return
            try:
                await self._send(self._latest)
            except Exception as exc:  # a failed partial edit is cosmetic; the final answer still goes out
                log.warning("could not show the partial answer: %s", exc)
            try:
                await asyncio.wait_for(self._closing.wait(), self._interval_s)
                return
            except TimeoutError:
                pass

    async def close(self) -> None:
        """Stop updating; returns after an edit in flight has finished, so the final answer lands last."""
        self._closing.set()
        self._pending.set()
        await self._task
