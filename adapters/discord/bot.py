"""The discord.py client: slash commands and mentions in, calls on the shared ChatService,
Discord messages out. Nothing here retrieves or generates; it only translates."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands

from adapters.discord.format import answer_messages, partial_content
from adapters.discord.settings import DiscordSettings
from bot.access import Conversation
from bot.chat import ChatReply, ChatService
from bot.conversation import Turn

__all__ = ["RagbotDiscord", "FeedbackView", "use_endpoints"]

log = logging.getLogger(__name__)

PLATFORM = "discord"
_MENTION = re.compile(r"<@!?\d+>")


def use_endpoints(settings: DiscordSettings) -> None:
    """Point discord.py at the configured REST API and gateway (proxies, tests)."""
    import yarl

    discord.http.Route.BASE = settings.api_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)


def conversation_of(channel: object, guild_id: int | None, channel_id: int | None) -> Conversation:
    """Where a question was asked; a thread counts as the channel it lives in."""
    if guild_id is None:
        return Conversation("discord", is_dm=True)
    private = False
    if isinstance(channel, discord.Thread):
        private = channel.type == discord.ChannelType.private_thread
        channel_id, channel = channel.parent_id, channel.parent
    if isinstance(channel, discord.abc.GuildChannel):
        everyone = channel.guild.default_role
        private = private or not channel.permissions_for(everyone).view_channel
    return Conversation(
        "discord",
        channel=str(channel_id) if channel_id else None,
        guild=str(guild_id),
        is_private=private,
    )


class FeedbackView(discord.ui.View):
    """👍 / 👎 under every answer; persistent (fixed custom ids), so clicks work after a restart."""

    def __init__(self, service: ChatService) -> None:
        super().__init__(timeout=None)
        self.service = service

    @discord.ui.button(label="Helpful", emoji="👍", custom_id="ragbot:feedback:up")
    async def helpful(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        await self._vote(interaction, "up")

    @discord.ui.button(label="Not helpful", emoji="👎", custom_id="ragbot:feedback:down")
    async def not_helpful(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        await self._vote(interaction, "down")

    async def _vote(self, interaction: discord.Interaction, vote: str) -> None:
        message_id = str(interaction.message.id) if interaction.message else ""
        record = self.service.vote(PLATFORM, message_id, str(interaction.user.id), vote)
        text = "Thanks, your feedback was recorded." if record else "Thanks! (That answer is too old to record.)"
        await interaction.response.send_message(f"{'👍' if vote == 'up' else '👎'} {text}", ephemeral=True)


class RagbotDiscord(discord.Client):
    def __init__(self, service: ChatService, settings: DiscordSettings, **options: Any) -> None:
        # The bot never joins voice: discord.py's "PyNaCl/davey is not installed" warnings are noise.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        intents = discord.Intents.default()  # no privileged intents unless asked for
        intents.message_content = settings.message_content
        super().__init__(intents=intents, allowed_mentions=discord.AllowedMentions.none(), **options)
        self.service = service
        self.settings = settings
        self.tree = app_commands.CommandTree(self)
        self._register_commands()

    async def setup_hook(self) -> None:
        self.add_view(FeedbackView(self.service))
        if self.settings.guild_ids:
            for guild_id in self.settings.guild_ids:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()
        log.info("Discord: commands synced")

    # -- slash commands ----------------------------------------------------------------
    def _register_commands(self) -> None:
        @self.tree.command(name="ask", description="Ask the team docs a question")
        @app_commands.describe(question="What do you want to know?")
        async def ask(interaction: discord.Interaction, question: str) -> None:
            await interaction.response.defer(thinking=True)
            conversation = conversation_of(interaction.channel, interaction.guild_id, interaction.channel_id)
            sets = self.service.sets_for(conversation)
            shown = False

            async def show_partial(text: str) -> None:
                nonlocal shown
                await interaction.edit_original_response(content=partial_content(text))
                shown = True

            reply = await self.service.answer(
                str(interaction.user.id), question, sets=sets, on_partial=show_partial, conversation=conversation
            )
            # The message that showed the answer being written becomes the answer.
            edit_first = interaction.edit_original_response if shown else None
            await self._deliver(functools.partial(interaction.followup.send, wait=True), reply, edit_first)

        @self.tree.command(name="sets", description="Show which document sets this channel can search (admins)")
        async def sets(interaction: discord.Interaction) -> None:
            if not await self._admin_only(interaction):
                return
            conversation = conversation_of(interaction.channel, interaction.guild_id, interaction.channel_id)
            await interaction.response.send_message(self.service.sets_text(conversation), ephemeral=True)

        @self.tree.command(name="reindex", description="Reindex the docs (admins)")
        @app_commands.describe(source="Only this source")
        async def reindex(interaction: discord.Interaction, source: str | None = None) -> None:
            if not await self._admin_only(interaction):
                return
            await interaction.response.defer(thinking=True)
            conversation = conversation_of(interaction.channel, interaction.guild_id, interaction.channel_id)
            sets = None if conversation.is_dm else self.service.sets_for(conversation)
            summary = await self.service.reindex(source, sets)
            # The first followup replaces the public "thinking" message: it only ever says what
            # this channel may read. Anything more goes in a second, ephemeral followup.
            if summary.channel is not None:
                await interaction.followup.send(f"Reindex finished:\n```\n{summary.channel[:1900]}\n```")
            else:
                await interaction.followup.send("Reindex did not run; the reason was sent to the admin who asked.")
            if summary.private is not None:
                private = f"Only you can see this:\n```\n{summary.private[:1900]}\n```"
                await interaction.followup.send(private, ephemeral=True)

        @self.tree.command(name="train", description="Train the query encoder on the docs and feedback (admins)")
        async def train(interaction: discord.Interaction) -> None:
            if not await self._admin_only(interaction):
                return
            await interaction.response.defer(thinking=True, ephemeral=True)
            await interaction.followup.send(f"```\n{(await self.service.train())[:1900]}\n```", ephemeral=True)

        @self.tree.command(name="status", description="Show what is indexed (admins)")
        async def status(interaction: discord.Interaction) -> None:
            if not await self._admin_only(interaction):
                return
            await interaction.response.send_message(self.service.status_text()[:2000], ephemeral=True)

    async def _admin_only(self, interaction: discord.Interaction) -> bool:
        user = interaction.user
        allowed = interaction.permissions.manage_guild or any(
            role.id in self.settings.admin_role_ids for role in getattr(user, "roles", [])
        )
        if not allowed:
            await interaction.response.send_message("Sorry, only ragbot admins can do that.", ephemeral=True)
        return allowed

    async def _deliver(
        self,
        send: Callable[..., Awaitable[discord.Message]],
        reply: ChatReply,
        edit_first: Callable[..., Awaitable[discord.Message]] | None = None,
    ) -> None:
        """Post the reply through ``send`` (an interaction followup or a channel), buttons on the last
        part; with ``edit_first``, the first part replaces the message that showed the partial answer."""
        if reply.answer is None:
            if edit_first:
                await edit_first(content=f"⚠️ {reply.text}", embeds=[])
            else:
                await send(content=f"⚠️ {reply.text}")
            return
        messages = answer_messages(reply.answer)
        for i, (content, embeds) in enumerate(messages):
            last = i == len(messages) - 1
            kwargs = {"view": FeedbackView(self.service)} if last else {}
            post = edit_first if i == 0 and edit_first else send
            sent = await post(content=content or None, embeds=embeds, **kwargs)
        self.service.remember(PLATFORM, str(sent.id), reply)

    # -- mentions and thread follow-ups -----------------------------------------------
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or self.user is None or message.guild is None:
            return
        channel = message.channel
        in_own_thread = isinstance(channel, discord.Thread) and channel.owner_id == self.user.id
        if not (self.user in message.mentions or in_own_thread):
            return
        if not self.service.first_time(f"discord:{message.id}"):
            return
        question = _MENTION.sub("", message.content).strip()
        try:
            if isinstance(channel, discord.Thread):
                thread, history = channel, await self._history(channel, message)
            else:
                thread, history = await message.create_thread(name=(question or "Question")[:90]), []
            conversation = conversation_of(channel, message.guild.id, channel.id)
            sets = self.service.sets_for(conversation)
            partial: discord.Message | None = None

            async def show_partial(text: str) -> None:
                nonlocal partial
                if partial is None:
                    partial = await thread.send(content=partial_content(text))
                else:
                    await partial.edit(content=partial_content(text))

            async with thread.typing():
                reply = await self.service.answer(
                    str(message.author.id), question, history, sets, show_partial, conversation=conversation
                )
            await self._deliver(thread.send, reply, partial.edit if partial else None)
        except discord.HTTPException as exc:
            log.warning("could not answer message %s: %s", message.id, exc)

    async def _history(self, thread: discord.Thread, current: discord.Message) -> list[Turn]:
        limit = self.service.history_messages
        if not limit:
            return []
        turns: list[Turn] = []
        try:
            # The message a channel's thread was started from; a forum post's opening message is in the thread.
            if isinstance(thread.parent, discord.TextChannel):
                starter = await thread.parent.fetch_message(thread.id)
                turns.append(Turn("user", _MENTION.sub("", starter.content).strip()))
        except discord.HTTPException:
            pass
        newest_first = [m async for m in thread.history(limit=limit, before=current)]
        bot_id = self.user.id if self.user else None
        for message in reversed(newest_first):
            text = _MENTION.sub("", message.content).strip()
            turns.append(Turn("bot" if message.author.id == bot_id else "user", text))
        return turns[-limit:]
