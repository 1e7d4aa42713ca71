""" "Ask a person" on Discord: the button under every answer (and after a 👎) that mentions the
``[chat.escalation] discord_role`` in the thread, or in ``discord_channel`` with a link to it.

A :class:`discord.ui.DynamicItem`, so clicks work after a restart and the button offered after a
👎 (on an ephemeral message) can still name the answer it is about. Whether a click may page
anyone and every word said come from :mod:`bot.handoff`, shared with Slack.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final, Protocol

import discord

from bot.chat import ChatService
from bot.handoff import THREAD_NOTE, unreachable_text

__all__ = ["ESCALATE", "EscalateButton", "escalate_offer"]

log = logging.getLogger(__name__)

ESCALATE = "ragbot:escalate"
PLATFORM: Final = "discord"
DONE_TEXT = "🙋 Done: I've asked a person, and noted it in the thread."
_MENTION = re.compile(r"<@!?\d+>")


class _HasService(Protocol):
    service: ChatService


_TEMPLATE = r"ragbot:escalate(?::(?P<answer>[0-9]+))?"


class EscalateButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=_TEMPLATE):
    """``ragbot:escalate`` under an answer (the clicked message is the answer), or
    ``ragbot:escalate:<answer id>`` on the ephemeral reply to a 👎."""

    def __init__(self, answer_id: int | None = None) -> None:
        self.answer_id = answer_id
        custom_id = ESCALATE if answer_id is None else f"{ESCALATE}:{answer_id}"
        button: discord.ui.Button[Any] = discord.ui.Button(
            label="Ask a person", emoji="🙋", style=discord.ButtonStyle.secondary, custom_id=custom_id
        )
        super().__init__(button)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> EscalateButton:
        answer = match["answer"]
        return cls(int(answer) if answer else None)

    async def callback(self, interaction: discord.Interaction) -> None:
        client: _HasService = interaction.client  # type: ignore[assignment]  # RagbotDiscord
        answer_id = self.answer_id or (interaction.message.id if interaction.message else None)
        await escalate(client.service, interaction, answer_id)


def escalate_offer(answer_id: int) -> discord.ui.View:
    """The "Ask a person" button alone, offered after a 👎 on the answer ``answer_id``."""
    view = discord.ui.View(timeout=None)
    view.add_item(EscalateButton(answer_id))
    return view


async def escalate(service: ChatService, interaction: discord.Interaction, answer_id: int | None) -> None:
    """Mention the role (only that role may be pinged), note it in the thread, record the event;
    a refusal or an unreachable target is told to the clicker alone."""
    handoff = service.handoff
    refusal = handoff.refusal(PLATFORM, str(interaction.user.id))
    if refusal is not None:
        await interaction.response.send_message(refusal, ephemeral=True)
        return
    await interaction.response.defer(ephemeral=True, thinking=True)
    thread = interaction.channel
    role = int(handoff.config.discord_role or 0)
    only_role = discord.AllowedMentions(everyone=False, users=False, roles=[discord.Object(role)], replied_user=False)
    asker = f"<@{interaction.user.id}>"
    question = await _question_of(thread)
    target_id = handoff.config.discord_channel
    try:
        if not isinstance(thread, discord.abc.Messageable):
            raise LookupError("this conversation can't be posted in")
        if target_id:
            target = interaction.client.get_channel(int(target_id)) or await interaction.client.fetch_channel(
                int(target_id)
            )
            if not isinstance(target, discord.abc.Messageable):
                raise LookupError(f"channel {target_id} is not a text channel")
            link = getattr(thread, "jump_url", "") if isinstance(thread, discord.Thread) else _message_link(interaction)
            text = handoff.request_text(f"<@&{role}>", asker, question, link)
            await target.send(text, allowed_mentions=only_role)
        else:
            text = handoff.request_text(f"<@&{role}>", asker, question, "").rstrip()
            await thread.send(f"{text}\n{THREAD_NOTE}", allowed_mentions=only_role)
    except (discord.HTTPException, LookupError) as exc:  # channel gone, no permission, Discord down
        detail = f"{exc.status} {exc.text}" if isinstance(exc, discord.HTTPException) else str(exc)
        log.warning("escalation to %s failed: %s", target_id or "the thread", detail)
        await interaction.followup.send(unreachable_text(detail), ephemeral=True)
        return
    if answer_id is not None:
        service.escalate(PLATFORM, str(answer_id))
    if target_id:
        await thread.send(THREAD_NOTE)
    await interaction.followup.send(DONE_TEXT if target_id else "🙋 Done: I've asked a person.", ephemeral=True)


def _message_link(interaction: discord.Interaction) -> str:
    return interaction.message.jump_url if interaction.message else ""


async def _question_of(channel: object) -> str:
    """The question a thread is about: the message it was started from (a forum post: its title
    and first message), mentions removed; empty when it can't be read."""
    if not isinstance(channel, discord.Thread):
        return ""
    try:
        if isinstance(channel.parent, discord.ForumChannel):
            starter = await channel.fetch_message(channel.id)
            return f"{channel.name}: {_MENTION.sub('', starter.content).strip()}"
        if isinstance(channel.parent, discord.TextChannel):
            starter = await channel.parent.fetch_message(channel.id)
            return _MENTION.sub("", starter.content).strip()
    except discord.HTTPException as exc:
        log.warning("could not read the escalated thread's question: %s", exc)
    return channel.name
