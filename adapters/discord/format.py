"""Answers as Discord messages: content split at 2,000 characters, sources in embeds
(4,096 characters each), links that don't unfurl into previews."""

from __future__ import annotations

import discord

from bot.models import Answer
from bot.streaming import CURSOR
from bot.text import split_text

__all__ = ["answer_messages", "partial_content", "MESSAGE_LIMIT", "EMBED_LIMIT"]

MESSAGE_LIMIT = 2000
EMBED_LIMIT = 4096
_EMBEDS_PER_MESSAGE = 10


def _escape(text: str) -> str:
    """Neutralise mentions in quoted doc text: ``@everyone``, ``@here``, and ``<@id>`` / ``<@&role>``
    (the client never pings, AllowedMentions.none(), but a document must not even look like it)."""
    text = text.replace("@everyone", "@\u200beveryone").replace("@here", "@\u200bhere")
    return text.replace("<@", "<@\u200b")


def partial_content(text: str) -> str:
    """An answer still being written: one message's worth, with a cursor."""
    return split_text(_escape(text), MESSAGE_LIMIT - len(CURSOR))[0] + CURSOR


def answer_messages(answer: Answer) -> list[tuple[str, list[discord.Embed]]]:
    """(content, embeds) per message to send, in order; nothing is cut."""
    contents = split_text(_escape(answer.text), MESSAGE_LIMIT)
    embeds: list[discord.Embed] = []
    if answer.citations:
        title = "Sources" if answer.answered else "Closest pages in the docs"
        lines = [f"[{c.n}] [{_escape(discord.utils.escape_markdown(c.title))}](<{c.url}>)" for c in answer.citations]
        embeds = [discord.Embed(title=title, description=piece) for piece in split_text("\n".join(lines), EMBED_LIMIT)]
    messages: list[tuple[str, list[discord.Embed]]] = [(content, []) for content in contents]
    for start in range(0, len(embeds), _EMBEDS_PER_MESSAGE):
        batch = embeds[start : start + _EMBEDS_PER_MESSAGE]
        if start == 0:
            messages[-1] = (messages[-1][0], batch)
        else:
            messages.append(("", batch))
    return messages
