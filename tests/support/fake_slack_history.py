"""A fake Slack Web API for reading history (the ``slack`` source), on 127.0.0.1.

Separate from ``fake_slack.py`` (which plays Slack for the chat adapter). Shaped on the Web
API reference: ``auth.test``, ``conversations.info``, ``conversations.history`` (newest first,
``oldest`` exclusive, ``limit``, ``response_metadata.next_cursor``), ``conversations.replies``
(the parent, then replies oldest first), ``chat.getPermalink`` and ``usergroups.users.list``.
Errors are HTTP 200 with ``{"ok": false, "error": ...}`` (``invalid_auth``,
``channel_not_found``, ``not_in_channel``, ``thread_not_found``); rate limits are HTTP 429
with ``Retry-After``. Deleting a parent that has replies leaves a ``tombstone``, as Slack does.
"""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import parse_qsl

from tests.support.fake_api import FakeApi, Reply, Request, json_reply

__all__ = ["FakeSlackHistory", "BOT_USER", "BOT_ID", "EXPERT"]

BOT_USER, BOT_ID, EXPERT = "UBOT", "BRAGBOT", "UEXPERT"
_DAY = 86_400


class FakeSlackHistory(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.channels: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, list[str]] = {"SEXPERTS": [EXPERT]}
        self._clock = time.time() - 20 * _DAY  # messages are 20 days old and newer

    # -- what the test changes ---------------------------------------------------------
    def channel(self, channel_id: str, name: str, private: bool = False, member: bool = True) -> None:
        self.channels[channel_id] = {"name": name, "is_private": private, "member": member, "messages": []}

    def _ts(self) -> str:
        self._clock += 60
        return f"{self._clock:.6f}"

    def post(self, channel: str, user: str, text: str, bot: bool = False) -> str:
        message = {"type": "message", "user": user, "text": text, "ts": self._ts(), "_replies": []}
        if bot:
            message["bot_id"] = BOT_ID
        self.channels[channel]["messages"].append(message)
        return str(message["ts"])

    def reply(self, channel: str, parent_ts: str, user: str, text: str, bot: bool = False) -> str:
        parent = self._find(channel, parent_ts)
        reply = {"type": "message", "user": user, "text": text, "ts": self._ts(), "thread_ts": parent_ts}
        if bot:
            reply["bot_id"] = BOT_ID
        parent["_replies"].append(reply)
        self._thread_meta(parent)
        return str(reply["ts"])

    def react(self, channel: str, ts: str, name: str, user: str = "UASKER") -> None:
        message = self._find(channel, ts)
        reactions = message.setdefault("reactions", [])
        entry = next((r for r in reactions if r["name"] == name), None)
        if entry is None:
            reactions.append({"name": name, "users": [user], "count": 1})
        else:
            entry["users"].append(user)
            entry["count"] += 1

    def edit(self, channel: str, ts: str, text: str) -> None:
        message = self._find(channel, ts)
        message["text"] = text
        message["edited"] = {"user": message.get("user"), "ts": self._ts()}

    def delete(self, channel: str, ts: str) -> None:
        messages = self.channels[channel]["messages"]
        parent = next(m for m in messages if m["ts"] == ts)
        if parent["_replies"]:
            parent.update({"subtype": "tombstone", "text": "This message was deleted.", "user": "USLACKBOT"})
            parent.pop("reactions", None)
        else:
            messages.remove(parent)

    def _find(self, channel: str, ts: str) -> dict[str, Any]:
        for message in self.channels[channel]["messages"]:
            if message["ts"] == ts:
                return message
            for reply in message["_replies"]:
                if reply["ts"] == ts:
                    return reply
        raise KeyError(ts)

    def _thread_meta(self, parent: dict[str, Any]) -> None:
        replies = parent["_replies"]
        parent.update(
            {
                "thread_ts": parent["ts"],
                "reply_count": len(replies),
                "reply_users": sorted({r["user"] for r in replies}),
                "reply_users_count": len({r["user"] for r in replies}),
                "latest_reply": replies[-1]["ts"],
            }
        )

    def calls(self, method: str) -> list[Request]:
        return self.requests(lambda r: r.path == f"/api/{method}")

    # -- the API -----------------------------------------------------------------------
    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
        return json_reply(
            {"ok": False, "error": "ratelimited" if status == 429 else "service_unavailable"}, status, headers
        )

    def unauthorized(self, request: Request) -> Reply:
        return json_reply({"ok": False, "error": "invalid_auth"})  # Slack says so with HTTP 200

    def answer(self, request: Request) -> Reply:
        params = {**request.query, **dict(parse_qsl(request.body.decode()))}
        method = request.path.removeprefix("/api/")
        if method == "auth.test":
            return _ok(url="https://acme.slack.com/", team="Acme", user="ragbot", user_id=BOT_USER, bot_id=BOT_ID)
        if method == "usergroups.users.list":
            users = self.groups.get(params.get("usergroup", ""))
            return _ok(users=users) if users is not None else _fail("no_such_subteam")
        channel = self.channels.get(params.get("channel", ""))
        if channel is None:
            return _fail("channel_not_found")
        if method == "conversations.info":
            return _ok(channel={"id": params["channel"], "name": channel["name"], "is_private": channel["is_private"]})
        if not channel["member"]:
            return _fail("not_in_channel")
        if method == "conversations.history":
            oldest = float(params.get("oldest", 0))
            parents = [self._public(m) for m in reversed(channel["messages"]) if float(m["ts"]) > oldest]
            return self._page(parents, params)
        if method == "conversations.replies":
            parent = next((m for m in channel["messages"] if m["ts"] == params.get("ts")), None)
            if parent is None:
                return _fail("thread_not_found")
            return self._page([self._public(parent)] + [dict(r) for r in parent["_replies"]], params)
        if method == "chat.getPermalink":
            ts = params.get("message_ts", "")
            return _ok(
                channel=params["channel"],
                permalink=f"https://acme.slack.com/archives/{params['channel']}/p{ts.replace('.', '')}",
            )
        return _fail("unknown_method")

    def _public(self, message: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in message.items() if key != "_replies"}

    def _page(self, messages: list[dict[str, Any]], params: dict[str, str]) -> Reply:
        limit = int(params.get("limit", 100))
        start = int(base64.b64decode(params["cursor"]).decode().split(":")[1]) if params.get("cursor") else 0
        chunk = messages[start : start + limit]
        more = start + limit < len(messages)
        cursor = base64.b64encode(f"next_ts:{start + limit}".encode()).decode() if more else ""
        return _ok(messages=chunk, has_more=more, response_metadata={"next_cursor": cursor})


def _ok(**fields: Any) -> Reply:
    return json_reply({"ok": True, **fields})


def _fail(error: str) -> Reply:
    return json_reply({"ok": False, "error": error})
