"""A fake Slack on 127.0.0.1: the Web API methods ragbot calls, response URLs, and a Socket Mode
websocket. Every call is recorded so tests can assert on what the real Bolt app sent."""

from __future__ import annotations

import itertools
import json
import threading
import time
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from tests.support.fakeserver import FakeServer, LoopThread

__all__ = ["FakeSlack", "LoopThread", "BOT_USER"]

BOT_USER = "UBOT"


class FakeSlack(FakeServer):
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.call_times: list[float] = []  # monotonic time of each call, parallel to calls
        self.thread_messages: dict[str, list[dict[str, Any]]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.socket_acks: list[dict[str, Any]] = []
        self.rate_limit_once: set[str] = set()  # methods that answer 429 the first time
        self.private_channels: set[str] = set()
        self.errors: dict[str, str] = {}  # method -> the Slack error it answers ({"ok": false}), e.g. invalid_auth
        self.unavailable: dict[str, int] = {}  # method -> how many more times it answers HTTP 503
        self.granted_scopes: str | None = None  # auth.test's X-OAuth-Scopes header, when set
        self.missing_channels: set[str] = set()  # chat.postMessage there answers channel_not_found
        self._ts = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._lock = threading.Lock()
        self.url = ""

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/{method}", self._api),
            web.get("/api/{method}", self._api),
            web.post("/respond/{hook}", self._respond),
            web.get("/socket", self._socket),
        ]

    def call_names(self) -> list[str]:
        return [name for name, _ in self.calls]

    async def stop(self) -> None:
        for socket in self._sockets:
            await socket.close()
        await super().stop()

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
        if method in self.rate_limit_once:
            self.rate_limit_once.discard(method)
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"})
        if self.unavailable.get(method, 0) > 0:
            self.unavailable[method] -= 1
            return web.Response(status=503, text="upstream unavailable")
        if method in self.errors:
            return web.json_response({"ok": False, "error": self.errors[method]})
        headers = {"X-OAuth-Scopes": self.granted_scopes} if method == "auth.test" and self.granted_scopes else None
        return web.json_response(self._reply(method, params), headers=headers)

    def _reply(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "team_id": "T1",
                "user_id": BOT_USER,
                "bot_id": "BBOT",
                "url": "https://acme.slack.com/",
            }
        if method == "chat.postMessage" and params.get("channel") in self.missing_channels:
            return {"ok": False, "error": "channel_not_found"}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{1700000000 + next(self._ts)}.000200"}
        if method == "chat.getPermalink":
            ts = str(params.get("message_ts", "")).replace(".", "")
            return {
                "ok": True,
                "channel": params.get("channel"),
                "permalink": f"https://acme.slack.com/archives/{params.get('channel')}/p{ts}",
            }
        if method == "chat.postMessage":
            return {"ok": True, "channel": params.get("channel"), "ts": f"{1700000000 + next(self._ts)}.000100"}
        if method == "conversations.replies":
            return {"ok": True, "messages": self.thread_messages.get(params.get("ts", ""), [])}
        if method == "users.info":
            user = self.users.get(params.get("user", ""))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "conversations.info":
            channel = params.get("channel", "")
            return {
                "ok": True,
                "channel": {
                    "id": channel,
                    "is_im": channel.startswith("D"),
                    "is_private": channel in self.private_channels,
                },
            }
        if method == "apps.connections.open":
            return {"ok": True, "url": self.url.replace("http://", "ws://") + "/socket"}
        return {"ok": True}

    async def _respond(self, request: web.Request) -> web.Response:
        self.record(f"response_url:{request.match_info['hook']}", await request.json())
        return web.Response(text="ok")

    def record(self, method: str, params: dict[str, Any]) -> None:
        with self._lock:
            self.calls.append((method, params))
            self.call_times.append(time.monotonic())

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [params for name, params in self.calls if name == method]

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
