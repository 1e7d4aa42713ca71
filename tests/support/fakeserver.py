"""Plumbing shared by the fake platform servers: a background event loop and polling with a deadline."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web


class LoopThread:
    """An asyncio loop in a daemon thread, for servers that tests talk to synchronously."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


class FakeServer:
    """An aiohttp app on 127.0.0.1 (a free port) that records calls; subclasses add the routes."""

    url = ""

    def routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    def call_names(self) -> list[str]:
        raise NotImplementedError

    async def start(self) -> str:
        app = web.Application()
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        await self._runner.cleanup()

    def wait_for(self, check: Callable[[], Any], timeout: float = 90) -> Any:
        """Poll until ``check()`` is truthy: answers arrive after the platform's request returned."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            time.sleep(0.05)
        raise AssertionError(f"timed out; calls so far: {self.call_names()}")
