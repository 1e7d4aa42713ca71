"""The real Bolt app served over HTTP on 127.0.0.1 against a fake Slack, and what a test sends and reads."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from adapters.slack import SlackSettings, create_slack_app
from adapters.slack.app import WORKING_TEXT
from adapters.slack.server import http_app
from bot.chat import ChatService
from tests.support.fake_slack import BOT_USER, FakeSlack, LoopThread

SECRET = "test-signing-secret"


_ids = itertools.count(1)


class SlackBot:
    """The Bolt app served over HTTP on 127.0.0.1, talking to a fresh FakeSlack."""

    def __init__(self, loop: LoopThread, service: ChatService, admins: frozenset[str] = frozenset()) -> None:
        self.loop = loop
        self.fake = FakeSlack()
        api = loop.run(self.fake.start()) + "/api/"
        self.settings = SlackSettings(bot_token="xoxb-test", signing_secret=SECRET, api_url=api, admin_user_ids=admins)
        self.service = service
        self.app = create_slack_app(service, self.settings)
        self.port = loop.run(self._serve())

    async def _serve(self) -> int:
        self.runner = web.AppRunner(http_app(self.app))
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def close(self) -> None:
        self.loop.run(self.runner.cleanup())
        self.loop.run(self.fake.stop())

    def post(
        self, body: str, content_type: str, *, timestamp: int | None = None, secret: str = SECRET, headers=None
    ) -> tuple[int, str, float]:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        signature = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/slack/events",
            data=body.encode(),
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": signature,
                **(headers or {}),
            },
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode(), time.perf_counter() - started
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), time.perf_counter() - started

    def event(self, event: dict[str, Any], event_id: str | None = None, **kwargs: Any) -> tuple[int, str, float]:
        payload = {
            "type": "event_callback",
            "team_id": "T1",
            "api_app_id": "A1",
            "event_id": event_id or f"Ev{next(_ids)}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}],
            "event": event,
        }
        return self.post(json.dumps(payload), "application/json", **kwargs)

    def form(self, fields: dict[str, str]) -> tuple[int, str, float]:
        return self.post(urlencode(fields), "application/x-www-form-urlencoded")

    def click(self, message: dict[str, Any], ts: str, action_id: str, *, user: str = "U9", hook: str = "fb") -> int:
        """Click the button ``action_id`` under the bot's ``message`` (a chat.update or
        chat.postMessage the fake recorded, posted as ``ts``), as Slack posts a block_actions."""
        blocks = message["blocks"] if isinstance(message["blocks"], list) else json.loads(message["blocks"])
        thread = {"thread_ts": message["thread_ts"]} if message.get("thread_ts") else {}
        action = {
            "type": "block_actions",
            "user": {"id": user},
            "team": {"id": "T1"},
            "api_app_id": "A1",
            "channel": {"id": message["channel"]},
            "container": {"type": "message", "message_ts": ts, "channel_id": message["channel"]},
            "message": {"ts": ts, **thread, "text": message["text"], "blocks": blocks},
            "actions": [{"action_id": action_id, "block_id": "ragbot_feedback", "type": "button"}],
            "response_url": f"{self.fake.url}/respond/{hook}",
            "trigger_id": "1.2.3",
        }
        status, _, _ = self.form({"payload": json.dumps(action)})
        return status

    def final_update(self, channel: str, ts: str) -> dict[str, Any]:
        """The chat.update that replaced the placeholder ``ts`` with the answer."""
        return self.fake.wait_for(
            lambda: next(
                (u for u in self.fake.calls_to("chat.update") if u["channel"] == channel and u["ts"] == ts), None
            )
        )


def mention(text: str, user: str = "U1", channel: str = "C1", **extra: Any) -> dict[str, Any]:
    ts = f"{int(time.time())}.{next(_ids):06d}"
    return {"type": "app_mention", "user": user, "text": f"<@{BOT_USER}> {text}", "ts": ts, "channel": channel, **extra}


def placeholder_for(bot: SlackBot, thread_ts: str | None, channel: str = "C1") -> dict[str, Any]:
    return bot.fake.wait_for(
        lambda: next(
            (
                p
                for p in bot.fake.calls_to("chat.postMessage")
                if p["channel"] == channel and p.get("thread_ts") == thread_ts and p["text"] == WORKING_TEXT
            ),
            None,
        )
    )


def posted_ts(bot: SlackBot, placeholder: dict[str, Any]) -> str:
    """ts the fake gave the placeholder message: calls and ts values are handed out in order."""
    index = bot.fake.calls_to("chat.postMessage").index(placeholder)
    return f"{1700000000 + index + 1}.000100"


def answer_for(bot: SlackBot, event: dict[str, Any], thread_ts: str | None = None) -> dict[str, Any]:
    placeholder = placeholder_for(bot, thread_ts or event["ts"], event["channel"])
    return bot.final_update(event["channel"], posted_ts(bot, placeholder))


def answered_after(bot: SlackBot, user: str) -> dict[str, Any]:
    """Ask a question and wait for its answer. Events are handled in the order they arrive, so by
    then whatever an earlier event would have made the bot post has been posted: the explicit
    wait that a test of "nothing happened" needs. The question's event."""
    later = mention("what are core hours", user=user)
    bot.event(later)
    answer_for(bot, later)
    return later


def posted_except(bot: SlackBot, event: dict[str, Any]) -> list[dict[str, Any]]:
    """Every chat.postMessage but those in reply to ``event``."""
    return [p for p in bot.fake.calls_to("chat.postMessage") if p.get("thread_ts") != event["ts"]]


def blocks_text(update: dict[str, Any]) -> str:
    blocks = update["blocks"] if isinstance(update["blocks"], list) else json.loads(update["blocks"])
    return json.dumps(blocks)


def command(text: str, user: str) -> dict[str, str]:
    return {
        "command": "/ragbot",
        "text": text,
        "user_id": user,
        "channel_id": "C1",
        "team_id": "T1",
        "response_url": "",
        "trigger_id": "1.2.3",
    }
