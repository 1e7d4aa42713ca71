"""`ragbot serve` memory: RSS at start and after 1,000 questions, embedded store at 100k chunks.

    .venv/bin/python bench/serve_memory.py [--chunks 100000] [--questions 1000]

The real `ragbot serve` runs in a process of its own (Slack over HTTP on 127.0.0.1, the
extractive generator), and a fake Slack (tests/support/fake_slack.py) records what it posts.
Its embedded store holds the sample handbook, indexed by `ragbot index`, plus synthetic
chunks up to ``--chunks`` (clustered 384-d vectors and ~1 KB texts, as bench/store_latency.py
makes them), written through ragbot's own EdgeStore under the real model's name. Every
question is a signed Events API request, like Slack's, from a new user in a new channel (the
per-user and per-channel state a long-running bot accumulates), with the eval set's questions
in turn; each is answered before the next is sent. RSS (VmRSS of the serve process) is read
when /healthz first answers, after the first answer, and at checkpoints up to the last.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import REPO, eval_questions, indexed_handbook, machine  # noqa: E402
from bench.store_latency import CHUNKS_PER_DOC, Corpus  # noqa: E402
from tests.support.serving import free_port, signed_event, slack_env, wait_healthy  # noqa: E402

CHECKPOINTS = (1, 100, 250, 500, 750, 1000)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def fill_store(config: Path, chunks: int) -> int:
    """Synthetic chunks beside the handbook's, up to ``chunks`` in all; returns the count stored."""
    from bot.app.settings import load_settings
    from bot.store import open_store

    settings = load_settings(config)
    store = open_store(settings)
    missing = chunks - store.count()
    corpus = Corpus(max(missing, 0))
    for first in range(0, corpus.size, CHUNKS_PER_DOC):
        part = [
            replace(c, doc_id=f"filler-{c.doc_id}", source="filler", sets=("public",)) for c in corpus.chunks(first)
        ]
        store.replace_document(part, corpus.vectors[first : first + len(part)])
    store.finish_batch()
    total = store.count()
    store.close()
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--questions", type=int, default=1000)
    args = parser.parse_args()
    print(f"machine: {machine()}")

    from tests.support.fake_slack import BOT_USER, FakeSlack, LoopThread

    config = indexed_handbook("bench-serve-memory-", chat_limits=True)
    started = time.perf_counter()
    stored = fill_store(config, args.chunks)
    print(f"store: {stored:,} chunks ({time.perf_counter() - started:.0f} s to add the synthetic ones)", flush=True)

    loop = LoopThread()
    fake = FakeSlack()
    api = loop.run(fake.start()) + "/api/"
    port = free_port()
    env = slack_env(port, api_url=api, RAGBOT_GENERATOR="extractive", HF_HUB_OFFLINE="1")
    log_path = config.parent / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "serve", "--no-scheduler"],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        wait_healthy(port, process)
        print("| point | questions answered | RSS (MiB) |\n|---|---|---|")
        print(f"| /healthz answers | 0 | {rss_mib(process.pid):,.0f} |", flush=True)
        questions = eval_questions()
        answer_s = []
        for n in range(1, args.questions + 1):
            channel = f"C{n:05d}"
            event = {
                "type": "app_mention",
                "user": f"U{n:05d}",
                "text": f"<@{BOT_USER}> {questions[n % len(questions)]}",
                "ts": f"{1_700_000_000 + n}.000100",
                "channel": channel,
            }
            t = time.perf_counter()
            signed_event(port, event, f"EvMem{n}", timeout=60)
            fake.wait_for(
                lambda channel=channel: any(u["channel"] == channel for u in fake.calls_to("chat.update")), timeout=120
            )
            answer_s.append(time.perf_counter() - t)
            if n in CHECKPOINTS or n == args.questions:
                print(f"| after question {n:,} | {n:,} | {rss_mib(process.pid):,.0f} |", flush=True)
        answer_s.sort()
        print(
            f"answer posted: p50 {answer_s[len(answer_s) // 2] * 1000:.0f} ms, "
            f"p95 {answer_s[int(len(answer_s) * 0.95)] * 1000:.0f} ms; load {os.getloadavg()[0]:.1f}"
        )
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        loop.run(fake.stop())
        loop.stop()
        print(f"serve log: {log_path}")


if __name__ == "__main__":
    main()
