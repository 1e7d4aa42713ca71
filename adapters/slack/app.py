"""The Bolt app: Slack events in, calls on the shared ChatService, Slack messages out.

Nothing here retrieves or generates; it only translates.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.format import (
    ESCALATE,
    FEEDBACK_DOWN,
    FEEDBACK_UP,
    MAX_BLOCKS,
    answer_blocks,
    escape,
    fallback_text,
    feedback_done_blocks,
    partial_text,
)
from adapters.slack.permissions import MESSAGE_EVENTS, SLASH_COMMAND, SUBSCRIBED_EVENTS
from adapters.slack.settings import SlackSettings
from adapters.slack.threads import ChannelKinds, thread_history, thread_question, without_mentions
from bot.channels import speaks
from bot.chat import ChatReply, ChatService
from bot.conversation import Turn
from bot.handoff import THREAD_NOTE, unreachable_text
from bot.question_detector import looks_like_question

__all__ = ["create_slack_app", "WORKING_TEXT"]

log = logging.getLogger(__name__)

PLATFORM: Final = "slack"
WORKING_TEXT = ":hourglass_flowing_sand: Looking through the docs…"


def create_slack_app(service: ChatService, slack: SlackSettings) -> AsyncApp:
    _quiet_token_skipped_warning()
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
    app = AsyncApp(
        client=client,
        signing_secret=slack.signing_secret,
        request_verification_enabled=not slack.socket_mode,
        process_before_response=False,  # ack within Slack's 3 s, answer afterwards
    )
    handler = _Handlers(service, slack)
    if "app_mention" in SUBSCRIBED_EVENTS:
        app.event("app_mention")(handler.on_mention)
    if set(MESSAGE_EVENTS.values()) & set(SUBSCRIBED_EVENTS):
        app.event("message")(handler.on_message)
    app.action(re.compile(f"^({FEEDBACK_UP}|{FEEDBACK_DOWN})$"))(handler.on_feedback)
    app.action(ESCALATE)(handler.on_escalate)
    app.command(SLASH_COMMAND)(handler.on_command)
    return app


class _DropMessage(logging.Filter):
    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self.message


def _quiet_token_skipped_warning() -> None:
    """Bolt warns that SLACK_BOT_TOKEN "will be unused" whenever it is set and a client is given,
    which it always is here (the client carries the same token and the API URL): noise at start."""
    from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

    logger = logging.getLogger("slack_bolt.AsyncApp")
    if not any(isinstance(f, _DropMessage) for f in logger.filters):
        logger.addFilter(_DropMessage(warning_client_prioritized_and_token_skipped()))


class _Handlers:
    def __init__(self, service: ChatService, slack: SlackSettings) -> None:
        self.service = service
        self.slack = slack
        self.channels = ChannelKinds()

    # -- questions -------------------------------------------------------------------
    async def on_mention(
        self, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        await self._question(body, event, client, context.get("bot_user_id"))

    async def on_message(
        self, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        """A direct message is a question. In a channel, a follow-up is: a reply without a
        mention, in a thread where the bot answered, from someone who asked it there (a message
        with a mention arrives as app_mention too, and is answered from that). In an ``auto``
        channel, so is a new top-level message that looks like a question."""
        subscription = MESSAGE_EVENTS.get(event.get("channel_type", ""))
        if subscription not in SUBSCRIBED_EVENTS or event.get("subtype"):
            return  # edits, joins and bot posts are not questions
        bot_user = context.get("bot_user_id")
        mentioned = bool(bot_user and f"<@{bot_user}>" in event.get("text", ""))
        if subscription == "message.im":
            await self._question(body, event, client, bot_user)
        elif event.get("thread_ts") and not mentioned:
            await self._question(body, event, client, bot_user, follow_up_only=True)
        elif not event.get("thread_ts") and not mentioned and looks_like_question(event.get("text", "")):
            await self._question(body, event, client, bot_user, auto_only=True)

    async def _question(
        self,
        body: dict[str, Any],
        event: dict[str, Any],
        client: AsyncWebClient,
        bot_user: str | None,
        follow_up_only: bool = False,
        auto_only: bool = False,
    ) -> None:
        """Answer one message. ``follow_up_only``: a thread reply without a mention; ``auto_only``:
        a top-level message without a mention, answered only where the channel's mode is auto."""
        if event.get("bot_id") or event.get("subtype") == "bot_message" or event.get("user") == bot_user:
            return
        channel = event["channel"]
        is_dm = event.get("channel_type") == "im"
        thread_ts = event.get("thread_ts") or (None if is_dm else event["ts"])
        question = without_mentions(event.get("text", ""))
        conversation = await self.channels.conversation(client, channel, event.get("channel_type"))
        behaviour = self.service.behaviour(conversation)
        if behaviour.mode == "off" or (auto_only and behaviour.mode != "auto"):
            return  # off is silent, mentions included (README: "Channel modes")
        history: list[Turn] = []
        if event.get("thread_ts"):
            history, asked_here, human_since = await thread_history(
                client, channel, event, bot_user, self.service.history_messages, auto=behaviour.mode == "auto"
            )
            if follow_up_only and (not (history and asked_here) or human_since):
                return  # people talking among themselves, or a person took over the thread
        if not self.service.first_time(body.get("event_id")):
            log.info("ignoring redelivered event %s", body.get("event_id"))
            return
        sets = self.service.sets_for(conversation)
        mentioned = not (follow_up_only or auto_only)
        user = event.get("user", "")
        # Not asked by name, or only the asker may see the answer: nothing is shown until it is ready.
        quiet = not mentioned and behaviour.mode == "auto" or (behaviour.ephemeral and not is_dm)
        placeholder = (
            None if quiet else await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=WORKING_TEXT)
        )

        async def show_partial(text: str) -> None:
            if placeholder is not None:
                await client.chat_update(channel=channel, ts=placeholder["ts"], text=partial_text(text))

        reply = await self.service.answer(
            user, question, history, sets, on_partial=show_partial, conversation=conversation
        )
        answered = reply.answer is not None and reply.answer.answered
        if not speaks(behaviour, kind=reply.kind, answered=answered, mentioned=mentioned):
            log.info(
                "auto mode: not posting a %s reply in %s", "refused" if reply.kind == "answer" else reply.kind, channel
            )
            return
        ephemeral_to = user if behaviour.ephemeral and not is_dm else None
        await self._deliver(client, channel, thread_ts, placeholder["ts"] if placeholder else None, reply, ephemeral_to)

    async def _deliver(
        self,
        client: AsyncWebClient,
        channel: str,
        thread_ts: str | None,
        ts: str | None,
        reply: ChatReply,
        ephemeral_to: str | None = None,
    ) -> None:
        """Replace the placeholder ``ts`` with the reply, or post it (no placeholder: auto mode);
        with ``ephemeral_to``, post it with chat.postEphemeral for that user only."""

        async def post(**message: Any) -> str:
            if ephemeral_to:
                sent = await client.chat_postEphemeral(
                    channel=channel, user=ephemeral_to, thread_ts=thread_ts, **message
                )
                return str(sent.get("message_ts", ""))
            if ts is not None and first:
                await client.chat_update(channel=channel, ts=ts, **message)
                return ts
            return str((await client.chat_postMessage(channel=channel, thread_ts=thread_ts, **message))["ts"])

        first = True
        if reply.answer is None:
            await post(text=f":warning: {escape(reply.text)}", blocks=[])
            return
        blocks = answer_blocks(reply.answer)
        batches = [blocks[i : i + MAX_BLOCKS] for i in range(0, len(blocks), MAX_BLOCKS)]
        fallback = fallback_text(reply.answer.text)
        for batch in batches:  # an answer too long for one message continues in the thread
            last_ts = await post(text=fallback, blocks=batch)
            first = False
        self.service.remember(PLATFORM, f"{channel}:{last_ts}", reply)

    # -- feedback --------------------------------------------------------------------
    async def on_feedback(
        self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        action = body["actions"][0]
        vote = "up" if action["action_id"] == FEEDBACK_UP else "down"
        channel = body["channel"]["id"]
        message = body["message"]
        user = body["user"]["id"]
        record = self.service.vote(PLATFORM, f"{channel}:{message['ts']}", user, vote)
        if record is None:
            log.warning("vote on an unknown answer %s:%s", channel, message["ts"])
        done = feedback_done_blocks(message.get("blocks", []), user, vote)
        if (body.get("container") or {}).get("is_ephemeral"):  # chat.update can't edit an ephemeral answer
            await respond(replace_original=True, text=message.get("text", ""), blocks=done)
            return
        await client.chat_update(channel=channel, ts=message["ts"], text=message.get("text", ""), blocks=done)

    async def on_escalate(
        self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        """ "Ask a person": link the thread in the escalation channel with the configured mention,
        note it in the thread, and mark the question escalated in the question log."""
        await ack()
        channel = body["channel"]["id"]
        message = body.get("message") or {}
        message_ts = message.get("ts") or (body.get("container") or {}).get("message_ts", "")
        thread_ts = message.get("thread_ts") or message_ts
        user = body["user"]["id"]
        handoff = self.service.handoff
        refusal = handoff.refusal(PLATFORM, user)
        if refusal is not None:
            await respond(response_type="ephemeral", replace_original=False, text=escape(refusal))
            return
        target = handoff.config.slack_channel or ""
        try:
            link = (await client.chat_getPermalink(channel=channel, message_ts=thread_ts))["permalink"]
            question = await thread_question(client, channel, thread_ts)
            text = handoff.request_text(handoff.slack_mention(), f"<@{user}>", escape(question), link)
            await client.chat_postMessage(channel=target, text=text)
        except Exception as exc:  # channel gone, bot not in it, Slack down: say so, don't pretend
            detail = exc.response.get("error", "error") if isinstance(exc, SlackApiError) else type(exc).__name__
            log.warning("escalation to %s failed: %s", target, detail)
            await respond(response_type="ephemeral", replace_original=False, text=escape(unreachable_text(str(detail))))
            return
        self.service.escalate(PLATFORM, f"{channel}:{message_ts}")
        await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=THREAD_NOTE)

    # -- admin -----------------------------------------------------------------------
    async def on_command(
        self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        words = command.get("text", "").split()
        action, args = (words[0].lower(), words[1:]) if words else ("help", [])
        if action not in ("reindex", "status", "sets", "train"):
            await ack(
                response_type="ephemeral",
                text="Usage: `/ragbot reindex [source]`, `/ragbot status`, `/ragbot sets` or `/ragbot train`",
            )
            return
        if not await self._is_admin(client, command["user_id"]):
            await ack(response_type="ephemeral", text="Sorry, only ragbot admins can do that.")
            return
        if action == "status":
            await ack(response_type="ephemeral", text=escape(self.service.status_text()))
            return
        if action == "sets":
            conversation = await self.channels.conversation(client, command["channel_id"], None)
            await ack(response_type="ephemeral", text=escape(self.service.sets_text(conversation)))
            return
        if action == "train":
            await ack(response_type="ephemeral", text="Training the query encoder; the result follows here…")
            await respond(response_type="ephemeral", text=f"```{escape(await self.service.train())}```")
            return
        target = args[0] if args else None
        # Ephemeral: the source named may be one this channel must not learn about.
        await ack(response_type="ephemeral", text=f"Reindexing {escape(target or 'all sources')}…")
        conversation = await self.channels.conversation(client, command["channel_id"], None)
        sets = None if conversation.is_dm else self.service.sets_for(conversation)
        summary = await self.service.reindex(target, sets)
        if summary.channel is not None:
            await respond(response_type="in_channel", text=f"Reindex finished:\n```{escape(summary.channel)}```")
        if summary.private is not None:
            await respond(response_type="ephemeral", text=f"Only you can see this:\n```{escape(summary.private)}```")

    async def _is_admin(self, client: AsyncWebClient, user_id: str) -> bool:
        if self.slack.admin_user_ids:
            return user_id in self.slack.admin_user_ids
        try:
            user = (await client.users_info(user=user_id))["user"]
        except Exception as exc:
            log.warning("users.info failed, refusing admin command: %s", exc)
            return False
        return bool(user.get("is_admin") or user.get("is_owner"))
