"""Which document sets a conversation may search.

Rules are looked up from the most specific to the default: the channel's own rule, then (for a
Discord channel that is not private) its guild's rule, then ``access.default``. Direct messages
use ``access.dm``. A private channel never takes a guild-wide rule: only its own rule or the
default. Threads are judged by the channel they live in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.config import AccessConfig

__all__ = ["Conversation", "sets_for", "describe_sets"]


@dataclass(frozen=True)
class Conversation:
    platform: Literal["slack", "discord"]
    channel: str | None = None  # Slack channel id; Discord channel id (a thread's parent for threads)
    guild: str | None = None  # Discord guild id
    is_dm: bool = False
    is_private: bool = False


def sets_for(access: AccessConfig, conversation: Conversation) -> frozenset[str]:
    rule = _rule_for(access, conversation)
    return frozenset(rule)


def _rule_for(access: AccessConfig, c: Conversation) -> list[str]:
    if c.is_dm:
        return access.dm
    for rule in access.rules:
        if c.platform == "slack" and rule.slack_channel and rule.slack_channel == c.channel:
            return rule.sets
        if c.platform == "discord" and rule.discord_channel and rule.discord_channel == c.channel:
            if rule.discord_guild in (None, c.guild):
                return rule.sets
    if c.platform == "discord" and not c.is_private:
        for rule in access.rules:
            if rule.discord_guild and not rule.discord_channel and rule.discord_guild == c.guild:
                return rule.sets
    return access.default


def describe_sets(sets: frozenset[str]) -> str:
    return ", ".join(sorted(sets)) if sets else "no document sets (the bot will not answer here)"
