"""Discord end to end: INTERACTION_CREATE from the fake gateway -> followup received by the fake REST API.

    .venv/bin/python bench/discord_latency.py [--questions 50] [--generators extractive transformers]

The real discord.py client logs in to the fake Discord (tests/support/fake_discord.py); each `/ask`
is timed from the gateway dispatch until the fake records the followup with the answer.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import chat_bench_args, eval_questions, indexed_handbook, machine, summary_ms, warm_cores  # noqa: E402


def main() -> None:
    args = chat_bench_args()

    from adapters.discord import DiscordSettings, RagbotDiscord, use_endpoints
    from bot.chat import ChatService
    from bot.chatstate import SqliteChatState
    from tests.support.fake_discord import BOT_ID, GUILD_ID, FakeDiscord
    from tests.support.fakeserver import LoopThread

    config = indexed_handbook("bench-discord-", chat_limits=True)
    root = config.parent
    questions = eval_questions()
    print(f"machine: {machine()}")

    loop = LoopThread()
    for generator, core in warm_cores(config, args.generators):
        fake = FakeDiscord()
        loop.run(fake.start())
        settings = DiscordSettings(
            bot_token="token", api_url=fake.api_url, gateway_url=fake.gateway_url, guild_ids=frozenset({GUILD_ID})
        )
        use_endpoints(settings)
        service = ChatService(core, SqliteChatState(root / f"state-{generator}"))

        async def start(service=service, settings=settings) -> RagbotDiscord:
            client = RagbotDiscord(service, settings, guild_ready_timeout=0.2)
            asyncio.get_running_loop().create_task(client.start(settings.bot_token))
            return client

        client = loop.run(start())
        fake.wait_for(client.is_ready, timeout=60)
        latencies = []
        for i in range(args.questions):
            interaction = fake.interaction("ask", 4001, {"question": questions[i % len(questions)]})
            started = time.perf_counter()
            loop.run(fake.dispatch("INTERACTION_CREATE", interaction))
            path = f"/webhooks/{BOT_ID}/{interaction['token']}"
            fake.wait_for(lambda path=path, fake=fake: fake.calls_to("POST", path), timeout=300)
            latencies.append(time.perf_counter() - started)
        loop.run(client.close())
        loop.run(fake.stop())
        print(f"{generator}: {args.questions} /ask interactions; dispatch -> followup {summary_ms(latencies)}")
    loop.stop()


if __name__ == "__main__":
    main()
