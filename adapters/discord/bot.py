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

from adapters.discord.escalate import EscalateButton, escalate_offer
from adapters.discord.format import answer_messages, partial_content
from adapters.discord.settings import DiscordSettings
from adapters.discord.threads import is_forum_post, tag_answered, thread_context
from bot.access import Conversation
from bot.channels import Behaviour, speaks
from bot.chat import ChatReply, ChatService
from bot.conversation import Turn
from bot.question_detector import looks_like_question

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
    """👍 / 👎 and "Ask a person" under every answer; persistent (fixed custom ids), so clicks
    work after a restart. A 👎 is answered with the "Ask a person" button again."""

    def __init__(self, service: ChatService) -> None:
        super().__init__(timeout=None)
        self.service = service
        self.add_item(EscalateButton())

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
        if vote == "down" and interaction.message is not None:
            text += " If you need more help, a person can take over:"
            view = escalate_offer(interaction.message.id)
            await interaction.response.send_message(f"👎 {text}", ephemeral=True, view=view)
            # Clicks go to the registered EscalateButton, not this view: stop its 15-minute ephemeral
            # timer now. Stopping a view drops its dynamic items from discord.py's registry: add back.
            view.stop()
            interaction.client.add_dynamic_items(EscalateButton)
            return
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
        self.add_dynamic_items(EscalateButton)
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

    # -- mentions, auto channels, forum posts and thread follow-ups ---------------------
    async def on_message(self, message: discord.Message) -> None:
        """A mention is a question (unless the channel is ``off``). Without one: in an ``auto``
        channel a new top-level message that looks like a question, or a new post in an ``auto``
        forum (title and first message); and, anywhere, a follow-up by the asker in a thread the
        bot answered, until someone else replies there (a person took over)."""
        if message.author.bot or self.user is None or message.guild is None:
            return
        channel = message.channel
        conversation = conversation_of(channel, message.guild.id, channel.id)
        behaviour = self.service.behaviour(conversation)
        if behaviour.mode == "off":
            return  # off is silent, mentions included (README: "Channel modes")
        mentioned = self.user in message.mentions
        question = _MENTION.sub("", message.content).strip()
        forum_post = is_forum_post(message)
        history: list[Turn] = []
        if forum_post:
            question = f"{channel.name}\n{question}".strip()  # type: ignore[union-attr]
            if not (mentioned or behaviour.mode == "auto"):
                return
        elif isinstance(channel, discord.Thread):
            if not (mentioned or self._may_follow_up(channel, message)):
                return  # someone else's thread: reading its history for every message is not worth it
            history, asked_here, human_since = await thread_context(
                channel, message, self.user, self.service.history_messages, auto=behaviour.mode == "auto"
            )
            if not mentioned and (not asked_here or human_since):
                return  # people talking among themselves, or a person took over the thread
        elif not mentioned and not (behaviour.mode == "auto" and looks_like_question(question)):
            return
        if not self.service.first_time(f"discord:{message.id}"):
            return
        try:
            await self._answer(message, question, history, conversation, behaviour, mentioned, forum_post)
        except discord.HTTPException as exc:
            log.warning("could not answer message %s: %s", message.id, exc)

    def _may_follow_up(self, thread: discord.Thread, message: discord.Message) -> bool:
        """Could this unmentioned thread message be a follow-up? The bot's own thread, or one the
        author started (a forum post): only then is the thread's history read."""
        return self.user is not None and thread.owner_id in (self.user.id, message.author.id)

    async def _answer(
        self,
        message: discord.Message,
        question: str,
        history: list[Turn],
        conversation: Conversation,
        behaviour: Behaviour,
        mentioned: bool,
        forum_post: bool,
    ) -> None:
        """Answer in the message's thread (one is started from a top-level message). Not asked by
        name in an ``auto`` channel: nothing is shown (no thread, typing or partial answer) until
        the reply is ready, and a reply the channel doesn't want is never posted."""
        channel = message.channel
        quiet = not mentioned and behaviour.mode == "auto"
        thread: discord.Thread | None = channel if isinstance(channel, discord.Thread) else None
        if thread is None and not quiet:
            thread = await message.create_thread(name=(question or "Question")[:90])
        partial: discord.Message | None = None

        async def show_partial(text: str) -> None:
            nonlocal partial
            if thread is None:
                return
            if partial is None:
                partial = await thread.send(content=partial_content(text))
            else:
                await partial.edit(content=partial_content(text))

        ask = functools.partial(
            self.service.answer,
            str(message.author.id),
            question,
            history,
            self.service.sets_for(conversation),
            None if quiet else show_partial,
            conversation=conversation,
        )
        if quiet:
            reply = await ask()
        else:
            async with channel.typing():
                reply = await ask()
        answered = reply.answer is not None and reply.answer.answered
        if not speaks(behaviour, kind=reply.kind, answered=answered, mentioned=mentioned):
            kind = "refused" if reply.kind == "answer" else reply.kind
            log.info("auto mode: not posting a %s reply in %s", kind, channel.id)
            return
        if thread is None:
            thread = await message.create_thread(name=(question or "Question")[:90])
        await self._deliver(thread.send, reply, partial.edit if partial else None)
        if forum_post and answered:
            await tag_answered(thread, behaviour.answered_tag)
