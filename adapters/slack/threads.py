"""What the Slack adapter reads back from Slack about a message: the kind of its channel (which
access rules apply), the earlier turns of its thread (follow-ups), and a thread's question.

Each is a Slack Web API read that may fail; a failure never costs the question, it narrows it
(an unknown channel is treated as private, an unreadable thread as having no history).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.access import Conversation
from bot.conversation import Turn

__all__ = ["CHANNEL_TYPES_KEPT", "ChannelKinds", "thread_history", "thread_question", "without_mentions"]

log = logging.getLogger(__name__)

_MENTION = re.compile(r"<@[UW][A-Z0-9]+>")
# Channel kinds remembered from conversations.info, so a long-running bot's memory stays flat.
CHANNEL_TYPES_KEPT = 4096


def without_mentions(text: str) -> str:
    """The message's text with user mentions (``<@U123>``) taken out."""
    return _MENTION.sub("", text).strip()


class ChannelKinds:
    """Channel kinds learned from conversations.info, at most :data:`CHANNEL_TYPES_KEPT` (oldest forgotten)."""

    def __init__(self) -> None:
        self._kinds: dict[str, str] = {}

    async def conversation(self, client: AsyncWebClient, channel: str, channel_type: str | None) -> Conversation:
        """Slack conversation kind; app_mention events don't say, so ask conversations.info (cached)."""
        if channel_type is None:
            channel_type = self._kinds.get(channel)
        if channel_type is None:
            try:
                info = (await client.conversations_info(channel=channel))["channel"]
                channel_type = (
                    "im"
                    if info.get("is_im")
                    else "mpim"
                    if info.get("is_mpim")
                    else "group"
                    if info.get("is_private")
                    else "channel"
                )
                if len(self._kinds) >= CHANNEL_TYPES_KEPT:  # bounded: forget the oldest
                    del self._kinds[next(iter(self._kinds))]
                self._kinds[channel] = channel_type
            except Exception as exc:  # unknown: treat as private, the narrowest rules apply
                log.warning("conversations.info failed for %s: %s", channel, exc)
                channel_type = "group"
        return Conversation("slack", channel=channel, is_dm=channel_type == "im", is_private=channel_type != "channel")


async def thread_history(
    client: AsyncWebClient,
    channel: str,
    event: dict[str, Any],
    bot_user: str | None,
    limit: int,
    auto: bool = False,
) -> tuple[list[Turn], bool, bool]:
    """Earlier turns of the thread (at most ``limit``) if the bot already answered in it; whether
    the event's author asked the bot something in this thread before (mentioned it, or, in an
    ``auto`` channel, started the thread); and whether someone else has replied since the bot's
    last answer (a person took over: the bot keeps out unless mentioned)."""
    try:
        replies = await client.conversations_replies(channel=channel, ts=event["thread_ts"], limit=max(limit, 1) + 1)
    except Exception as exc:  # the question is still answerable without its history
        log.warning("could not read thread history: %s", exc)
        return [], False, False
    turns = []
    asked_here = human_since = False
    messages: list[dict[str, Any]] = replies.get("messages") or []
    for message in messages:
        if message.get("ts") == event["ts"]:
            continue
        if message.get("bot_id") or message.get("user") == bot_user:
            turns.append(Turn("bot", message.get("text", "")))
            human_since = False
        else:
            text = message.get("text", "")
            mine = message.get("user") == event.get("user")
            started = auto and message.get("ts") == event["thread_ts"]
            asked_here = asked_here or (mine and (f"<@{bot_user}>" in text or started))
            human_since = human_since or (not mine and any(t.role == "bot" for t in turns))
            turns.append(Turn("user", without_mentions(text)))
    if not limit:
        return [], asked_here, human_since
    return (turns[-limit:] if any(t.role == "bot" for t in turns) else []), asked_here, human_since


async def thread_question(client: AsyncWebClient, channel: str, thread_ts: str) -> str:
    """The thread's first message (the question), mentions removed; empty if unreadable."""
    try:
        replies = await client.conversations_replies(channel=channel, ts=thread_ts, limit=1)
    except Exception as exc:
        log.warning("could not read the escalated thread: %s", exc)
        return ""
    messages = replies.get("messages") or []
    return without_mentions(messages[0].get("text", "")) if messages else ""
