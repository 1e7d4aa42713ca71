"""The real discord.py client logged in to a fake Discord on 127.0.0.1, and what a test sends and reads."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from adapters.discord import DiscordSettings, RagbotDiscord, use_endpoints
from bot.chat import ChatService
from tests.support.fake_discord import ADMIN_ROLE_ID, BOT_ID, GUILD_ID, NOW, FakeDiscord
from tests.support.fakeserver import LoopThread


class DiscordBot:
    """The real client, logged in to a fresh FakeDiscord."""

    def __init__(self, loop: LoopThread, service: ChatService) -> None:
        self.loop = loop
        self.fake = FakeDiscord()
        loop.run(self.fake.start())
        self.settings = DiscordSettings(
            bot_token="discord-test-token",
            api_url=self.fake.api_url,
            gateway_url=self.fake.gateway_url,
            guild_ids=frozenset({GUILD_ID}),
            admin_role_ids=frozenset({ADMIN_ROLE_ID}),
            message_content=True,
        )
        use_endpoints(self.settings)
        self.service = service

        async def start() -> RagbotDiscord:
            client = RagbotDiscord(service, self.settings, guild_ready_timeout=0.2)
            self.task = asyncio.get_running_loop().create_task(client.start(self.settings.bot_token))
            return client

        self.client = loop.run(start())
        self.fake.wait_for(self.client.is_ready, timeout=60)

    def close(self) -> None:
        self.loop.run(self.client.close())
        self.loop.run(self.fake.stop())

    def send(self, event: str, data: dict[str, Any]) -> None:
        self.loop.run(self.fake.dispatch(event, data))

    def followups(self, token: str) -> list[dict[str, Any]]:
        return self.fake.calls_to("POST", f"/webhooks/{BOT_ID}/{token}")

    def callbacks(self, interaction: dict[str, Any]) -> list[dict[str, Any]]:
        return self.fake.calls_to("POST", f"/interactions/{interaction['id']}/{interaction['token']}/callback")


def text_of(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False)


def final_answer(fake: FakeDiscord, channel_id: int, after: dict[str, Any]) -> dict[str, Any]:
    """The bot's answer to the message ``after`` in ``channel_id``, once final: only the final
    answer carries the feedback buttons, so a partial answer is never returned."""
    return fake.wait_for(
        lambda: next(
            (m for m in fake.bot_messages(channel_id) if int(m["id"]) > int(after["id"]) and m["components"]),
            None,
        )
    )


def open_thread(bot: DiscordBot, parent_id: int, *, private: bool = False) -> int:
    """A thread someone else started under ``parent_id`` (a channel or a forum), known to the client; its id."""
    thread_id = bot.fake.next_id()
    thread = {
        "id": str(thread_id),
        "type": 12 if private else 11,  # private_thread / public_thread
        "guild_id": str(GUILD_ID),
        "parent_id": str(parent_id),
        "owner_id": "4300",
        "name": "planning",
        "rate_limit_per_user": 0,
        "last_message_id": None,
        "message_count": 0,
        "member_count": 1,
        "flags": 0,
        "thread_metadata": {"archived": False, "auto_archive_duration": 60, "archive_timestamp": NOW, "locked": False},
        "newly_created": True,
    }
    bot.send("THREAD_CREATE", thread)
    bot.fake.wait_for(lambda: bot.client.get_channel(thread_id))
    return thread_id
