"""Slack end to end: signed Events API request -> answer recorded by a fake Slack, per generator.

    .venv/bin/python bench/slack_latency.py [--questions 50] [--generators extractive transformers]

The real Bolt app serves HTTP on 127.0.0.1; the fake Slack (tests/support/fake_slack.py) records the
chat.update that replaces the "looking through the docs" placeholder. Reports the HTTP ack
time (Slack needs it under 3 s) and the time until the answer is posted.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import chat_bench_args, eval_questions, indexed_handbook, machine, summary_ms, warm_cores  # noqa: E402
from tests.support.serving import SECRET, signed_event  # noqa: E402  (the secret signed_event signs with)


def main() -> None:
    args = chat_bench_args()

    from aiohttp import web

    from adapters.slack import SlackSettings, create_slack_app
    from adapters.slack.server import http_app
    from bot.chat import ChatService
    from bot.chatstate import SqliteChatState
    from tests.support.fake_slack import BOT_USER, FakeSlack
    from tests.support.fakeserver import LoopThread

    config = indexed_handbook("bench-slack-", chat_limits=True)
    root = config.parent
    questions = eval_questions()
    print(f"machine: {machine()}")

    loop = LoopThread()
    for generator, core in warm_cores(config, args.generators):
        fake = FakeSlack()
        api = loop.run(fake.start()) + "/api/"
        app = create_slack_app(
            ChatService(core, SqliteChatState(root / f"state-{generator}")),
            SlackSettings(bot_token="xoxb", signing_secret=SECRET, api_url=api),
        )

        async def serve(app=app) -> tuple[web.AppRunner, int]:
            runner = web.AppRunner(http_app(app))
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

        runner, port = loop.run(serve())
        acks, answers = [], []
        for i in range(args.questions):
            channel = f"C{i}"
            event = {
                "type": "app_mention",
                "user": "U1",
                "text": f"<@{BOT_USER}> {questions[i % len(questions)]}",
                "ts": f"{i}.1",
                "channel": channel,
            }
            started = time.perf_counter()
            signed_event(port, event, f"Ev{generator}{i}", timeout=30)
            acks.append(time.perf_counter() - started)
            fake.wait_for(
                lambda channel=channel, fake=fake: [u for u in fake.calls_to("chat.update") if u["channel"] == channel],
                timeout=300,
            )
            answers.append(time.perf_counter() - started)
        loop.run(runner.cleanup())
        loop.run(fake.stop())
        print(
            f"{generator}: {args.questions} questions; HTTP ack {summary_ms(acks)}; answer posted {summary_ms(answers)}"
        )
    loop.stop()


if __name__ == "__main__":
    main()
