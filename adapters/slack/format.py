"""Answers as Slack Block Kit: mrkdwn with user text escaped, split to fit Slack's limits."""

from __future__ import annotations

import re
from typing import Any

from bot.models import Answer
from bot.streaming import CURSOR
from bot.text import split_text as _split

__all__ = [
    "escape",
    "to_mrkdwn",
    "fallback_text",
    "answer_blocks",
    "feedback_done_blocks",
    "partial_text",
    "split_text",
    "MAX_BLOCKS",
    "ESCALATE",
    "escalate_button",
]

SECTION_LIMIT = 3000  # characters of text in one section block
MAX_BLOCKS = 50  # blocks in one message
FEEDBACK_UP = "ragbot_feedback_up"
FEEDBACK_DOWN = "ragbot_feedback_down"
ESCALATE = "ragbot_escalate"
_BOLD = re.compile(r"\*\*([^*\n]+)\*\*")


def escape(text: str) -> str:
    """Slack mrkdwn control characters; everything else is shown as written.

    With ``<`` escaped, a ``<!channel>``, ``<!here>`` or ``<@U123>`` quoted from a document is
    shown as text and notifies nobody."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(text: str) -> str:
    """Escaped answer text in Slack's mrkdwn: Markdown ``**bold**`` becomes ``*bold*``; code
    blocks are left as written (Slack renders ``` fences itself)."""
    parts = escape(text).split("```")
    for i in range(0, len(parts), 2):  # even parts are outside code blocks
        parts[i] = _BOLD.sub(r"*\1*", parts[i])
    return "```".join(parts)


def fallback_text(text: str) -> str:
    """The message's top-level ``text`` (notifications, old clients): escaped like the blocks,
    since Slack parses mentions there too."""
    return re.sub(r"&[a-z]{0,3}$", "", escape(text)[:SECTION_LIMIT])  # a cut "&amp;" would show as "&am"


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    return _split(text, limit)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def partial_text(text: str) -> str:
    """An answer still being written: escaped, cut to one section, with a cursor."""
    return split_text(to_mrkdwn(text))[0] + CURSOR


def answer_blocks(answer: Answer) -> list[dict[str, Any]]:
    """Answer sections, a sources list, and the feedback buttons (possibly more than MAX_BLOCKS)."""
    blocks = [_section(piece) for piece in split_text(to_mrkdwn(answer.text))]
    if answer.citations:
        heading = "*Sources*" if answer.answered else "*Closest pages in the docs*"
        lines = [heading] + [
            f"[{c.n}] <{c.url.replace('|', '%7C').replace('>', '%3E')}|{escape(c.title).replace('|', '¦')}>"
            for c in answer.citations
        ]
        blocks += [_section(piece) for piece in split_text("\n".join(lines))]
    blocks.append(
        {
            "type": "actions",
            "block_id": "ragbot_feedback",
            "elements": [
                {
                    "type": "button",
                    "action_id": FEEDBACK_UP,
                    "text": {"type": "plain_text", "text": "👍 Helpful"},
                    "value": "up",
                },
                {
                    "type": "button",
                    "action_id": FEEDBACK_DOWN,
                    "text": {"type": "plain_text", "text": "👎 Not helpful"},
                    "value": "down",
                },
                escalate_button(),
            ],
        }
    )
    return blocks


def escalate_button() -> dict[str, Any]:
    """ "Ask a person": hands the thread to the people in [chat.escalation]."""
    return {
        "type": "button",
        "action_id": ESCALATE,
        "text": {"type": "plain_text", "text": "🙋 Ask a person"},
        "value": "escalate",
    }


def feedback_done_blocks(blocks: list[dict[str, Any]], user_id: str, vote: str) -> list[dict[str, Any]]:
    """The message's blocks with the buttons replaced by a note that the vote was recorded."""
    kept = [b for b in blocks if b.get("block_id") != "ragbot_feedback"]
    emoji = "👍" if vote == "up" else "👎"
    kept.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"{emoji} Feedback from <@{user_id}> recorded, thank you."}],
        }
    )
    if vote == "down":  # not helpful: offer a person instead
        kept.append({"type": "actions", "block_id": "ragbot_escalate", "elements": [escalate_button()]})
    return kept
