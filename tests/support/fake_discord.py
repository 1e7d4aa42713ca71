"""A fake Discord on 127.0.0.1: the REST routes and the gateway the real discord.py client uses.

Every REST call is recorded; tests push gateway events (MESSAGE_CREATE, INTERACTION_CREATE) and
assert on what the bot sent back. JSON responses carry exactly ``Content-Type: application/json``,
which discord.py requires.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from typing import Any

from aiohttp import WSMsgType, web

from tests.support.fakeserver import FakeServer

GUILD_ID = 1000
CHANNEL_ID = 2000
PRIVATE_CHANNEL_ID = 2001  # @everyone may not view it
VIEW_CHANNEL = 1 << 10
EVERYONE_PERMISSIONS = VIEW_CHANNEL | (1 << 11) | (1 << 16)  # view, send messages, read history
BOT_ID = 3000
ADMIN_ROLE_ID = 5000
NOW = "2026-11-25T12:00:00+00:00"


def user(user_id: int, name: str, bot: bool = False) -> dict[str, Any]:
    return {"id": str(user_id), "username": name, "discriminator": "0", "avatar": None, "global_name": name, "bot": bot}


BOT_USER = user(BOT_ID, "ragbot", bot=True)


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=json.dumps(payload).encode(), headers={"Content-Type": "application/json"})


class FakeDiscord(FakeServer):
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []  # (method, path, body)
        self.messages: dict[int, list[dict[str, Any]]] = {}  # channel id -> messages, oldest first
        self.originals: dict[str, dict[str, Any]] = {}  # interaction token -> its original response
        self.edits: list[tuple[int, float, dict[str, Any]]] = []  # (message id, monotonic time, PATCH body)
        self._ids = itertools.count(int(time.time() * 1000) << 22)
        self._seq = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._lock = threading.Lock()
        self.url = ""
        self.unavailable: dict[str, int] = {}  # REST path -> how many more times it answers HTTP 503
        self.channels: dict[int, dict[str, Any]] = {}  # forums and forum posts a test created: GET/PATCH

    def next_id(self) -> int:
        return next(self._ids)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/gateway", self._gateway), web.route("*", "/api/v10/{path:.*}", self._rest)]

    def call_names(self) -> list[str]:
        return [f"{method} {path}" for method, path, _ in self.calls]

    @property
    def api_url(self) -> str:
        return self.url + "/api/v10"

    @property
    def gateway_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/gateway"

    async def stop(self) -> None:
        for socket in self._sockets:
            await socket.close()
        await super().stop()

    # -- REST ----------------------------------------------------------------------------
    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        raw = await request.read()
        body: dict[str, Any] = {}
        if raw and request.content_type == "application/json":
            body = json.loads(raw)
        elif raw and request.content_type.startswith("multipart/"):
            body = {"multipart": raw.decode(errors="replace")}
        with self._lock:
            self.calls.append((request.method, path, body))
        return await self._answer(request.method, path, body, request)

    async def _answer(self, method: str, path: str, body: dict[str, Any], request: web.Request) -> web.Response:
        parts = path.strip("/").split("/")
        if self.unavailable.get(path, 0) > 0:
            self.unavailable[path] -= 1
            return _json({"message": "upstream unavailable", "code": 0}, 503)
        if request.headers.get("Authorization") == "Bot bad-token":
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        if path == "/users/@me":
            return _json(BOT_USER)
        if path == "/oauth2/applications/@me":
            return _json(
                {
                    "id": str(BOT_ID),
                    "name": "ragbot",
                    "description": "",
                    "icon": None,
                    "bot_public": False,
                    "bot_require_code_grant": False,
                    "owner": user(4999, "owner"),
                    "verify_key": "k",
                    "flags": 0,
                }
            )
        if parts[0] == "applications" and parts[-1] == "commands":
            return _json(
                [
                    {**command, "id": str(self.next_id()), "application_id": str(BOT_ID), "version": "1"}
                    for command in (body if isinstance(body, list) else json.loads(await request.text() or "[]"))
                ]
            )
        if parts[0] == "interactions":
            callback_type = body.get("type", 4)
            return _json(
                {
                    "interaction": {
                        "id": parts[1],
                        "type": 2,
                        "response_message_loading": callback_type == 5,
                        "response_message_ephemeral": bool(body.get("data", {}).get("flags", 0) & 64),
                    },
                    "resource": {"type": callback_type},
                }
            )
        if parts[0] == "webhooks" and method == "POST":
            channel = int(body.get("_channel", CHANNEL_ID))
            return _json(self.bot_message(channel, body))
        if parts[0] == "webhooks" and method == "PATCH" and parts[-1] == "@original":
            # The deferred "thinking..." message of an interaction token, edited in place.
            with self._lock:
                original = self.originals.get(parts[2])
            if original is None:
                original = self.bot_message(CHANNEL_ID, {})
                with self._lock:
                    self.originals[parts[2]] = original
            return _json(self._edit(original, body))
        if parts[0] == "webhooks":
            return _json(self.bot_message(CHANNEL_ID, body))
        if parts[0] == "channels" and len(parts) == 2:
            return self._channel(method, int(parts[1]), body)
        if parts[0] == "channels" and parts[2] == "messages" and len(parts) == 4 and method == "PATCH":
            found = self._find_message(int(parts[3]))
            if found is None:
                return _json({"message": "Unknown Message", "code": 10008}, 404)
            return _json(self._edit(found, body))
        if parts[0] == "channels" and parts[-1] == "typing":
            return web.Response(status=204)
        if parts[0] == "channels" and parts[-1] == "threads" and method == "POST":
            return _json(await self._start_thread(int(parts[1]), int(parts[3]), body))
        if parts[0] == "channels" and parts[2] == "messages" and method == "POST":
            return _json(self.bot_message(int(parts[1]), body))
        if parts[0] == "channels" and parts[2] == "messages" and len(parts) == 4:
            return _json(
                self._find_message(int(parts[3])) or {"message": "Unknown Message", "code": 10008},
                200 if self._find_message(int(parts[3])) else 404,
            )
        if parts[0] == "channels" and parts[2] == "messages":
            before = int(request.query.get("before", "0") or 0) or None
            limit = int(request.query.get("limit", "50"))
            history = [m for m in self.messages.get(int(parts[1]), []) if before is None or int(m["id"]) < before]
            return _json(list(reversed(history))[:limit])
        return _json({"message": f"fake Discord has no route {method} {path}", "code": 0}, 404)

    def bot_message(self, channel_id: int, body: dict[str, Any]) -> dict[str, Any]:
        message = self.message(
            channel_id,
            BOT_USER,
            body.get("content") or "",
            embeds=body.get("embeds", []),
            components=body.get("components", []),
        )
        return message

    def message(self, channel_id: int, author: dict[str, Any], content: str, **extra: Any) -> dict[str, Any]:
        message = {
            "id": str(self.next_id()),
            "channel_id": str(channel_id),
            "guild_id": str(GUILD_ID),
            "author": author,
            "content": content,
            "timestamp": NOW,
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [BOT_USER] if f"<@{BOT_ID}>" in content else [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
            "components": [],
            **extra,
        }
        with self._lock:
            self.messages.setdefault(channel_id, []).append(message)
        return message

    def _edit(self, message: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            for field in ("content", "embeds", "components"):
                if field in body:
                    message[field] = body[field] if body[field] is not None else ([] if field != "content" else "")
            message["edited_timestamp"] = NOW
            self.edits.append((int(message["id"]), time.monotonic(), dict(body)))
        return message

    def _find_message(self, message_id: int) -> dict[str, Any] | None:
        with self._lock:
            return next((m for ms in self.messages.values() for m in ms if int(m["id"]) == message_id), None)

    async def _start_thread(self, channel_id: int, message_id: int, body: dict[str, Any]) -> dict[str, Any]:
        thread = {
            "id": str(message_id),
            "type": 11,
            "guild_id": str(GUILD_ID),
            "parent_id": str(channel_id),
            "owner_id": str(BOT_ID),
            "name": body.get("name", "thread"),
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": NOW,
                "locked": False,
            },
        }
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return thread

    # -- forums ------------------------------------------------------------------------------
    def _channel(self, method: str, channel_id: int, body: dict[str, Any]) -> web.Response:
        """GET a channel, or PATCH a forum post's ``applied_tags`` (unknown ids: Unknown Channel)."""
        with self._lock:
            channel = self.channels.get(channel_id)
            if channel is None:
                return _json({"message": "Unknown Channel", "code": 10003}, 404)
            if method == "PATCH" and "applied_tags" in body:
                channel["applied_tags"] = [str(tag) for tag in body["applied_tags"]]
            return _json(dict(channel))

    async def open_forum(self, name: str, tags: list[str]) -> int:
        """A forum channel (type 15) with ``available_tags`` named ``tags``, sent as CHANNEL_CREATE; its id."""
        forum_id = self.next_id()
        forum = {
            "id": str(forum_id),
            "type": 15,
            "guild_id": str(GUILD_ID),
            "name": name,
            "position": 3,
            "permission_overwrites": [],
            "flags": 0,
            "available_tags": [
                {"id": str(self.next_id()), "name": tag, "moderated": False, "emoji_id": None, "emoji_name": None}
                for tag in tags
            ],
        }
        with self._lock:
            self.channels[forum_id] = forum
        await self.dispatch("CHANNEL_CREATE", forum)
        return forum_id

    def tag_ids(self, forum_id: int) -> dict[str, str]:
        """The forum's tag names -> ids."""
        return {tag["name"]: tag["id"] for tag in self.channels[forum_id]["available_tags"]}

    async def post_in_forum(self, forum_id: int, author: dict[str, Any], title: str, content: str) -> dict[str, Any]:
        """A new forum post as Discord sends it: THREAD_CREATE (the post, owned by its author),
        then MESSAGE_CREATE of its opening message, which shares the post's id. The post's data."""
        post_id = self.next_id()
        post = {
            "id": str(post_id),
            "type": 11,
            "guild_id": str(GUILD_ID),
            "parent_id": str(forum_id),
            "owner_id": author["id"],
            "name": title,
            "last_message_id": str(post_id),
            "rate_limit_per_user": 0,
            "message_count": 1,
            "member_count": 1,
            "flags": 0,
            "applied_tags": [],
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": NOW,
                "locked": False,
            },
        }
        with self._lock:
            self.channels[post_id] = post
        await self.dispatch("THREAD_CREATE", {**post, "newly_created": True})
        opening = self.message(post_id, author, content, id=str(post_id))
        await self.dispatch("MESSAGE_CREATE", opening)
        return post

    def calls_to(self, method: str, path_prefix: str) -> list[dict[str, Any]]:
        with self._lock:
            return [body for m, path, body in self.calls if m == method and path.startswith(path_prefix)]

    def bot_messages(self, channel_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.messages.get(channel_id, []) if m["author"]["id"] == str(BOT_ID)]

    # -- gateway ---------------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None}))
        async for frame in socket:  # bounded: ends when the client or the test closes it
            if frame.type != WSMsgType.TEXT:
                continue
            payload = json.loads(frame.data)
            if payload["op"] == 2:  # IDENTIFY
                await self._send(socket, "READY", self._ready())
            elif payload["op"] == 1:  # heartbeat
                await socket.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
        return socket

    def _ready(self) -> dict[str, Any]:
        everyone = {
            "id": str(GUILD_ID),
            "name": "@everyone",
            "permissions": str(EVERYONE_PERMISSIONS),
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        admins = {**everyone, "id": str(ADMIN_ROLE_ID), "name": "docs-admin", "position": 1}
        guild = {
            "id": str(GUILD_ID),
            "name": "Acme",
            "owner_id": "4999",
            "roles": [everyone, admins],
            "emojis": [],
            "stickers": [],
            "features": [],
            "member_count": 2,
            "unavailable": False,
            "large": False,
            "channels": [
                {"id": str(CHANNEL_ID), "type": 0, "name": "general", "position": 0, "permission_overwrites": []},
                {
                    "id": str(PRIVATE_CHANNEL_ID),
                    "type": 0,
                    "name": "hr-team",
                    "position": 1,
                    "permission_overwrites": [
                        {"id": str(GUILD_ID), "type": 0, "allow": "0", "deny": str(VIEW_CHANNEL)}
                    ],
                },
            ],
            "threads": [],
            "members": [],
            "voice_states": [],
            "presences": [],
            "joined_at": NOW,
        }
        return {
            "v": 10,
            "user": BOT_USER,
            "guilds": [guild],
            "session_id": "fake-session",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(BOT_ID), "flags": 0},
        }

    async def _send(self, socket: web.WebSocketResponse, event: str, data: dict[str, Any]) -> None:
        await socket.send_str(json.dumps({"op": 0, "t": event, "s": next(self._seq), "d": data}))

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        for socket in self._sockets:
            if not socket.closed:
                await self._send(socket, event, data)

    @property
    def connected(self) -> bool:
        return any(not s.closed for s in self._sockets)

    # -- events a test sends ---------------------------------------------------------------
    def member(self, user_id: int, roles: list[int] | None = None, permissions: int = 0) -> dict[str, Any]:
        return {
            "user": user(user_id, f"user{user_id}"),
            "roles": [str(r) for r in roles or []],
            "joined_at": NOW,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": str(permissions),
        }

    def interaction(
        self,
        name: str,
        user_id: int,
        options: dict[str, str] | None = None,
        *,
        roles=None,
        permissions: int = 0,
        channel_id: int = CHANNEL_ID,
        dm: bool = False,
    ) -> dict[str, Any]:
        where: dict[str, Any] = (
            {"channel_id": str(channel_id), "channel": {"id": str(channel_id), "type": 1}, "user": user(user_id, "dm")}
            if dm
            else {
                "guild_id": str(GUILD_ID),
                "channel_id": str(channel_id),
                "channel": {"id": str(channel_id), "type": 0, "guild_id": str(GUILD_ID), "name": "c"},
                "member": self.member(user_id, roles, permissions),
            }
        )
        return {
            "id": str(self.next_id()),
            "application_id": str(BOT_ID),
            "type": 2,
            "token": f"tok{self.next_id()}",
            "version": 1,
            **where,
            "app_permissions": "0",
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {},
            "context": 0,
            "attachment_size_limit": 10485760,
            "data": {
                "id": str(self.next_id()),
                "name": name,
                "type": 1,
                "options": [{"name": k, "type": 3, "value": v} for k, v in (options or {}).items()],
            },
        }

    def button_click(self, message: dict[str, Any], custom_id: str, user_id: int) -> dict[str, Any]:
        return {
            "id": str(self.next_id()),
            "application_id": str(BOT_ID),
            "type": 3,
            "token": f"tok{self.next_id()}",
            "version": 1,
            "guild_id": str(GUILD_ID),
            "channel_id": message["channel_id"],
            "member": self.member(user_id),
            "message": message,
            "app_permissions": "0",
            "locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {},
            "context": 0,
            "attachment_size_limit": 10485760,
            "data": {"custom_id": custom_id, "component_type": 2},
        }
