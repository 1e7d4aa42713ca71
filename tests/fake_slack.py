"""A fake Slack on 127.0.0.1: the Web API methods ragbot calls, response URLs, and a Socket Mode
websocket. Every call is recorded so tests can assert on what the real Bolt app sent."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

BOT_USER = "UBOT"


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


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.thread_messages: dict[str, list[dict[str, Any]]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.socket_acks: list[dict[str, Any]] = []
        self._ts = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._lock = threading.Lock()
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.add_routes(
            [
                web.post("/api/{method}", self._api),
                web.get("/api/{method}", self._api),
                web.post("/respond/{hook}", self._respond),
                web.get("/socket", self._socket),
            ]
        )
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        for socket in self._sockets:
            await socket.close()
        await self._runner.cleanup()

    # -- Web API -----------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.text()
        if request.content_type == "application/json" and raw:
            params = json.loads(raw)
        else:
            params = dict(parse_qsl(raw))
            params.update(request.query)
        self.record(method, params)
        return web.json_response(self._reply(method, params))

    def _reply(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "team_id": "T1",
                "user_id": BOT_USER,
                "bot_id": "BBOT",
                "url": "https://acme.slack.com/",
            }
        if method == "chat.postMessage":
            return {"ok": True, "channel": params.get("channel"), "ts": f"{1700000000 + next(self._ts)}.000100"}
        if method == "conversations.replies":
            return {"ok": True, "messages": self.thread_messages.get(params.get("ts", ""), [])}
        if method == "users.info":
            user = self.users.get(params.get("user", ""))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.url.replace("http://", "ws://") + "/socket"}
        return {"ok": True}

    async def _respond(self, request: web.Request) -> web.Response:
        self.record(f"response_url:{request.match_info['hook']}", await request.json())
        return web.Response(text="ok")

    def record(self, method: str, params: dict[str, Any]) -> None:
        with self._lock:
            self.calls.append((method, params))

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [params for name, params in self.calls if name == method]

    def wait_for(self, check: Callable[[], Any], timeout: float = 90) -> Any:
        """Poll until ``check()`` is truthy; the answer arrives after the HTTP 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            time.sleep(0.05)
        raise AssertionError(f"timed out; calls so far: {[name for name, _ in self.calls]}")

    # -- Socket Mode ---------------------------------------------------------------------
    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_json({"type": "hello", "num_connections": 1, "debug_info": {}})
        async for message in socket:  # bounded: ends when the client or the test closes it
            if message.type == WSMsgType.TEXT:
                self.socket_acks.append(json.loads(message.data))
        return socket

    async def push_envelope(self, envelope: dict[str, Any]) -> None:
        for socket in self._sockets:
            await socket.send_json(envelope)

    @property
    def socket_connected(self) -> bool:
        return bool(self._sockets)
