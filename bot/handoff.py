""" "Ask a person": what a hand-off may do, and what it says, for every platform.

The adapters do the posting (a Slack permalink in an escalation channel, a Discord role
mention); this module decides whether a click may page anyone (configured target, per-user
rate limit) and words every message, so Slack and Discord say the same thing. The event is
stored through :meth:`bot.chat.ChatService.escalate` (the question log's ``escalated``, on the
record that already holds the question, the answer and its cited sources).
"""

from __future__ import annotations

from typing import Literal

from bot.config import EscalationConfig
from bot.ratelimit import RateLimiter

__all__ = ["HandOff", "THREAD_NOTE", "unreachable_text"]

THREAD_NOTE = "🙋 I've asked a person to help with this; they'll reply in this thread."


def unreachable_text(detail: str) -> str:
    return (
        f"Sorry, I couldn't reach the people I hand questions to ({detail}). "
        "Please ask in the team channel directly, and tell an admin so they can fix [chat.escalation]."
    )


class HandOff:
    """The escalation target from ``[chat.escalation]`` and a per-user limit on paging people."""

    def __init__(self, config: EscalationConfig) -> None:
        self.config = config
        self.limiter = RateLimiter(config.user_requests_per_minute, 10_000)

    def configured(self, platform: Literal["slack", "discord"]) -> bool:
        c = self.config
        if platform == "slack":
            return bool(c.slack_channel and (c.slack_usergroup or c.slack_users))
        return bool(c.discord_role)

    def refusal(self, platform: Literal["slack", "discord"], user_id: str) -> str | None:
        """Why this click can't page anyone (None: go ahead; the click is counted)."""
        if not self.configured(platform):
            where = "slack_channel and slack_usergroup (or slack_users)" if platform == "slack" else "discord_role"
            return (
                "Sorry, no one is set up to take questions from here yet: "
                f"an admin can set {where} under [chat.escalation]."
            )
        wait = self.limiter.check(f"{platform}:{user_id}")
        if wait is not None:
            return f"You've just asked for a person; please wait {wait} s before asking again."
        return None

    def slack_mention(self) -> str:
        c = self.config
        parts = [f"<!subteam^{c.slack_usergroup}>"] if c.slack_usergroup else []
        return " ".join(parts + [f"<@{u}>" for u in c.slack_users])

    def request_text(self, mention: str, asker: str, question: str, link: str) -> str:
        """The message that pages people: who asked, what, and where to answer."""
        quoted = " ".join(question.split())[:300] or "(see the thread)"
        return f"{mention} {asker} asked for a person about: “{quoted}”\n{link}"
