"""The Bolt app: Slack events in, calls on the shared ChatService, Slack messages out.

Nothing here retrieves or generates; it only translates.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.format import (
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
from bot.access import Conversation
from bot.chat import ChatReply, ChatService
from bot.conversation import Turn

__all__ = ["create_slack_app", "WORKING_TEXT"]

log = logging.getLogger(__name__)

PLATFORM = "slack"
WORKING_TEXT = ":hourglass_flowing_sand: Looking through the docs…"
_MENTION = re.compile(r"<@[UW][A-Z0-9]+>")


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
        self._channel_types: dict[str, str] = {}

    # -- questions -------------------------------------------------------------------
    async def on_mention(
        self, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        await self._question(body, event, client, context.get("bot_user_id"))

    async def on_message(
        self, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        """A direct message is a question. In a channel, only a follow-up is: a reply without a
        mention, in a thread where the bot answered, from someone who asked it there (a message
        with a mention arrives as app_mention too, and is answered from that)."""
        subscription = MESSAGE_EVENTS.get(event.get("channel_type", ""))
        if subscription not in SUBSCRIBED_EVENTS or event.get("subtype"):
            return  # edits, joins and bot posts are not questions
        bot_user = context.get("bot_user_id")
        if subscription == "message.im":
            await self._question(body, event, client, bot_user)
        elif event.get("thread_ts") and not (bot_user and f"<@{bot_user}>" in event.get("text", "")):
            await self._question(body, event, client, bot_user, follow_up_only=True)

    async def _question(
        self,
        body: dict[str, Any],
        event: dict[str, Any],
        client: AsyncWebClient,
        bot_user: str | None,
        follow_up_only: bool = False,
    ) -> None:
        if event.get("bot_id") or event.get("subtype") == "bot_message" or event.get("user") == bot_user:
            return
        channel = event["channel"]
        is_dm = event.get("channel_type") == "im"
        thread_ts = event.get("thread_ts") or (None if is_dm else event["ts"])
        question = _MENTION.sub("", event.get("text", "")).strip()
        history: list[Turn] = []
        if event.get("thread_ts"):
            history, asked_here = await self._history(client, channel, event, bot_user)
            if follow_up_only and not (history and asked_here):
                return  # people talking among themselves in a thread
        if not self.service.first_time(body.get("event_id")):
            log.info("ignoring redelivered event %s", body.get("event_id"))
            return
        conversation = await self._conversation(client, channel, event.get("channel_type"))
        sets = self.service.sets_for(conversation)
        placeholder = await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=WORKING_TEXT)

        async def show_partial(text: str) -> None:
            await client.chat_update(channel=channel, ts=placeholder["ts"], text=partial_text(text))

        reply = await self.service.answer(
            event.get("user", ""), question, history, sets, on_partial=show_partial, conversation=conversation
        )
        await self._deliver(client, channel, thread_ts, placeholder["ts"], reply)

    async def _conversation(self, client: AsyncWebClient, channel: str, channel_type: str | None) -> Conversation:
        """Slack conversation kind; app_mention events don't say, so ask conversations.info (cached)."""
        if channel_type is None:
            channel_type = self._channel_types.get(channel)
        if channel_type is None:
            try:
                info = (await client.conversations_info(channel=channel))["channel"]
                channel_type = (
                    "im"
                    if info.get("is_im")
                    else "mpim"
                    if info.get("is_mpim")
                    else "group"
                    if info.get("is_private")
                    else "channel"
                )
                self._channel_types[channel] = channel_type
            except Exception as exc:  # unknown: treat as private, the narrowest rules apply
                log.warning("conversations.info failed for %s: %s", channel, exc)
                channel_type = "group"
        return Conversation("slack", channel=channel, is_dm=channel_type == "im", is_private=channel_type != "channel")

    async def _history(
        self, client: AsyncWebClient, channel: str, event: dict[str, Any], bot_user: str | None
    ) -> tuple[list[Turn], bool]:
        """Earlier turns of the thread if the bot already answered in it, and whether the event's
        author asked the bot something in this thread before (mentioned it)."""
        limit = self.service.history_messages
        if not limit:
            return [], False
        try:
            replies = await client.conversations_replies(channel=channel, ts=event["thread_ts"], limit=limit + 1)
        except Exception as exc:  # the question is still answerable without its history
            log.warning("could not read thread history: %s", exc)
            return [], False
        turns = []
        asked_here = False
        messages: list[dict[str, Any]] = replies.get("messages") or []
        for message in messages:
            if message.get("ts") == event["ts"]:
                continue
            if message.get("bot_id") or message.get("user") == bot_user:
                turns.append(Turn("bot", message.get("text", "")))
            else:
                text = message.get("text", "")
                asked_here = asked_here or (message.get("user") == event.get("user") and f"<@{bot_user}>" in text)
                turns.append(Turn("user", _MENTION.sub("", text).strip()))
        return (turns[-limit:] if any(t.role == "bot" for t in turns) else []), asked_here

    async def _deliver(
        self, client: AsyncWebClient, channel: str, thread_ts: str | None, ts: str, reply: ChatReply
    ) -> None:
        if reply.answer is None:
            await client.chat_update(channel=channel, ts=ts, text=f":warning: {escape(reply.text)}", blocks=[])
            return
        blocks = answer_blocks(reply.answer)
        batches = [blocks[i : i + MAX_BLOCKS] for i in range(0, len(blocks), MAX_BLOCKS)]
        fallback = fallback_text(reply.answer.text)
        await client.chat_update(channel=channel, ts=ts, text=fallback, blocks=batches[0])
        last_ts = ts
        for batch in batches[1:]:  # an answer too long for one message continues in the thread
            posted = await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=fallback, blocks=batch)
            last_ts = posted["ts"]
        self.service.remember(PLATFORM, f"{channel}:{last_ts}", reply)

    # -- feedback --------------------------------------------------------------------
    async def on_feedback(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        action = body["actions"][0]
        vote = "up" if action["action_id"] == FEEDBACK_UP else "down"
        channel = body["channel"]["id"]
        message = body["message"]
        user = body["user"]["id"]
        record = self.service.vote(PLATFORM, f"{channel}:{message['ts']}", user, vote)
        if record is None:
            log.warning("vote on an unknown answer %s:%s", channel, message["ts"])
        await client.chat_update(
            channel=channel,
            ts=message["ts"],
            text=message.get("text", ""),
            blocks=feedback_done_blocks(message.get("blocks", []), user, vote),
        )

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
            conversation = await self._conversation(client, command["channel_id"], None)
            await ack(response_type="ephemeral", text=escape(self.service.sets_text(conversation)))
            return
        if action == "train":
            await ack(response_type="ephemeral", text="Training the query encoder; the result follows here…")
            await respond(response_type="ephemeral", text=f"```{escape(await self.service.train())}```")
            return
        target = args[0] if args else None
        # Ephemeral: the source named may be one this channel must not learn about.
        await ack(response_type="ephemeral", text=f"Reindexing {escape(target or 'all sources')}…")
        conversation = await self._conversation(client, command["channel_id"], None)
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
