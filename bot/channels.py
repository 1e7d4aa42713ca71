"""How the bot behaves in a conversation: ``[[channels]]`` entries looked up like access rules.

Why a separate table rather than fields on ``[[access.rules]]``: access rules are a security
boundary (what a channel may read) that admins review on their own; a channel's mode is a
matter of manners (answer everything, only mentions, nothing). Keeping them apart means
switching #ask-docs to ``auto`` can never widen what it can search, and a rule's ``sets``
stay required. Both tables name their target the same way.

Lookup: the channel's own entry (a thread counts as its channel or forum), then its guild's
entry (Discord), then the default: ``mention``. Direct messages are always answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bot.access import Conversation
from bot.config import ChannelRule

__all__ = ["Behaviour", "behaviour_for", "speaks"]

Mode = Literal["mention", "auto", "off"]


@dataclass(frozen=True)
class Behaviour:
    mode: Mode = "mention"
    answer_when_unsure: bool = True
    ephemeral: bool = False
    answered_tag: str = "answered by bot"


DEFAULT = Behaviour()


def behaviour_for(channels: Sequence[ChannelRule], conversation: Conversation) -> Behaviour:
    if conversation.is_dm:
        return DEFAULT
    rule = _rule_for(channels, conversation)
    if rule is None:
        return DEFAULT
    return Behaviour(rule.mode, rule.answer_when_unsure, rule.ephemeral, rule.answered_tag)


def _rule_for(channels: Sequence[ChannelRule], c: Conversation) -> ChannelRule | None:
    for rule in channels:
        if c.platform == "slack" and rule.slack_channel and rule.slack_channel == c.channel:
            return rule
        if c.platform == "discord" and rule.discord_channel and rule.discord_channel == c.channel:
            if rule.discord_guild in (None, c.guild):
                return rule
    if c.platform == "discord":
        for rule in channels:
            if rule.discord_guild and not rule.discord_channel and rule.discord_guild == c.guild:
                return rule
    return None


def speaks(behaviour: Behaviour, *, kind: str, answered: bool, mentioned: bool) -> bool:
    """Whether a finished reply is posted. Anyone who mentions the bot (or DMs it) always gets
    one. In ``auto`` mode the bot was not asked by name, so "busy" is not posted, and with
    ``answer_when_unsure = false`` neither is "not in the docs": silence instead."""
    if mentioned or behaviour.mode != "auto":
        return True
    if kind == "busy":
        return False
    return answered or kind != "answer" or behaviour.answer_when_unsure
