"""Which Slack threads are resolved, and what their document says.

A thread is resolved when its question or a reply carries ``resolved_reaction``, or when
a member of an expert group replied. The document is the question and the accepted answer:
the reply with the reaction, else the last expert reply, else (question marked resolved)
the replies of everyone but the asker. Messages from ragbot's own bot user are never part of
it: a bot that learned from its own answers would repeat its mistakes with confidence.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from typing import Any

__all__ = ["Message", "is_candidate", "fingerprint", "accepted_answer", "thread_html", "thread_title", "is_own"]

Message = dict[str, Any]

_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|([^>]+))?>")
_LINK = re.compile(r"<(https?://[^|>]+)(?:\|([^>]+))?>")
_CHANNEL = re.compile(r"<#[A-Z0-9]+\|([^>]*)>")


def is_own(message: Message, bot_user: str, bot_id: str) -> bool:
    return bool(message.get("user") and message.get("user") == bot_user) or bool(
        bot_id and message.get("bot_id") == bot_id
    )


def _reacted(message: Message, reaction: str) -> bool:
    return bool(reaction) and any(r.get("name") == reaction for r in message.get("reactions") or [])


def is_candidate(parent: Message) -> bool:
    """A thread that may hold an answer: a question (not deleted) with replies."""
    return parent.get("subtype") != "tombstone" and bool(parent.get("reply_count"))


def fingerprint(parent: Message) -> str:
    """What conversations.history shows that changes when the thread does (the stored version)."""
    seen = {
        "text": parent.get("text", ""),
        "edited": (parent.get("edited") or {}).get("ts", ""),
        "replies": parent.get("reply_count", 0),
        "latest": parent.get("latest_reply", ""),
        "users": sorted(parent.get("reply_users") or []),
        "reactions": sorted((r.get("name", ""), r.get("count", 0)) for r in parent.get("reactions") or []),
    }
    return hashlib.sha256(json.dumps(seen, sort_keys=True).encode()).hexdigest()[:24]


def accepted_answer(
    parent: Message, replies: list[Message], reaction: str, experts: set[str], bot_user: str, bot_id: str
) -> list[Message]:
    """The replies that answer the question; [] if the thread is not resolved."""
    others = [r for r in replies if not is_own(r, bot_user, bot_id) and r.get("subtype") != "tombstone"]
    marked = [r for r in others if _reacted(r, reaction)]
    if marked:
        return marked[-1:]
    by_experts = [r for r in others if r.get("user") in experts]
    if by_experts:
        return by_experts[-1:]
    if _reacted(parent, reaction):
        return [r for r in others if r.get("user") != parent.get("user")]
    return []


def thread_title(parent: Message) -> str:
    first = _plain(parent.get("text", "")).strip().split("\n")[0]
    return first if len(first) <= 90 else first[:87].rstrip() + "..."


def thread_html(parent: Message, answers: list[Message]) -> str:
    """The question, then the answer; no heading ids: the citation is the thread's permalink."""

    def said(message: Message) -> str:
        return "".join(f"<p>{html.escape(p)}</p>" for p in _plain(message.get("text", "")).split("\n\n"))

    return f"<h2>Question</h2>{said(parent)}<h2>Answer</h2>{''.join(said(answer) for answer in answers)}"


def _plain(text: str) -> str:
    """Slack's mrkdwn markup as a reader sees it: mentions, links and channels as text."""
    text = _MENTION.sub(lambda m: "@" + (m.group(2) or m.group(1)), text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = _CHANNEL.sub(lambda m: "#" + m.group(1), text)
    return html.unescape(text)
