"""Discord threads and forum posts: what a thread says about who asked, and tagging answered posts.

A follow-up without a mention is answered only for the person who asked the bot in that
thread, and only until someone else replies after the bot's answer (a person took over):
both read from the thread's recent messages, as the Slack adapter reads a thread's replies.
"""

from __future__ import annotations

import logging
import re

import discord

from bot.conversation import Turn

__all__ = ["THREAD_WINDOW", "is_forum_post", "tag_answered", "thread_context"]

log = logging.getLogger(__name__)

THREAD_WINDOW = 50  # messages of a thread read to see who spoke since the bot's answer
_MENTION = re.compile(r"<@!?\d+>")


async def thread_context(
    thread: discord.Thread, current: discord.Message, bot: discord.ClientUser | None, limit: int, *, auto: bool
) -> tuple[list[Turn], bool, bool]:
    """Earlier turns of the thread (``limit`` of them, if the bot spoke); whether
    ``current``'s author asked the bot here before (started the bot's thread or, in an ``auto``
    forum, the post; or mentioned it); and whether someone else replied since the bot's last
    answer."""
    bot_id = bot.id if bot else None
    own = thread.owner_id == bot_id
    author = current.author.id
    turns: list[Turn] = []
    asked_here = author == thread.owner_id and auto
    try:
        if own and isinstance(thread.parent, discord.TextChannel):
            # The message the bot's thread was started from: the question it answered first.
            starter = await thread.parent.fetch_message(thread.id)
            turns.append(Turn("user", _MENTION.sub("", starter.content).strip()))
            asked_here = asked_here or starter.author.id == author
    except discord.HTTPException:
        pass
    newest_first = [m async for m in thread.history(limit=THREAD_WINDOW, before=current)]
    human_since = False
    for message in reversed(newest_first):
        text = _MENTION.sub("", message.content).strip()
        if message.author.id == bot_id:
            turns.append(Turn("bot", text))
            human_since = False
            continue
        mine = message.author.id == author
        asked_here = asked_here or (mine and bot in message.mentions)
        human_since = human_since or (not mine and any(t.role == "bot" for t in turns))
        turns.append(Turn("user", text))
    spoke = any(t.role == "bot" for t in turns)
    return (turns[-limit:] if limit and spoke else []), asked_here and (spoke or own), human_since


def is_forum_post(message: discord.Message) -> bool:
    """The opening message of a forum post (it shares the post's id)."""
    channel = message.channel
    return (
        isinstance(channel, discord.Thread)
        and isinstance(channel.parent, discord.ForumChannel)
        and message.id == channel.id
    )


async def tag_answered(thread: discord.Thread, name: str) -> None:
    """Apply the forum's tag called ``name`` (any case), if it has one; needs Manage Threads."""
    forum = thread.parent
    if not isinstance(forum, discord.ForumChannel):
        return
    tag = next((t for t in forum.available_tags if t.name.casefold() == name.casefold()), None)
    if tag is None:
        return
    try:
        await thread.add_tags(tag, reason="answered by ragbot")
    except discord.HTTPException as exc:
        log.warning("could not tag forum post %s %r (Manage Threads?): %s", thread.id, name, exc)
