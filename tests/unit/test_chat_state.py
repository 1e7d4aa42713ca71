"""One contract for chat state: SQLite (one machine) and a Qdrant collection (replicas anywhere).

Qdrant runs in qdrant-client's local mode here: the same client calls a server gets.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from bot.chatstate import ChatState, SqliteChatState
from bot.chatstate.qdrant import QdrantChatState


class Replicas:
    """Two bot replicas' views of one shared state."""

    def __init__(self, kind: str, root: Path) -> None:
        self.client: QdrantClient | None = None
        if kind == "sqlite":
            self.a: ChatState = SqliteChatState(root)
            self.b: ChatState = SqliteChatState(root)
        else:
            self.client = QdrantClient(path=str(root / "qdrant"))
            self.a = QdrantChatState(self.client, "ragbot_chat", server=False)
            self.b = QdrantChatState(self.client, "ragbot_chat", server=False)

    def close(self) -> None:
        self.a.close()
        self.b.close()
        if self.client is not None:
            self.client.close()


@pytest.fixture(params=["sqlite", "qdrant"])
def replicas(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Replicas]:
    shared = Replicas(request.param, tmp_path)
    yield shared
    shared.close()


def test_an_event_is_claimed_once_across_replicas_and_retries(replicas: Replicas) -> None:
    assert replicas.a.first_time("Ev1") is True
    assert replicas.a.first_time("Ev1") is False  # Slack's retry to the same replica
    assert replicas.b.first_time("Ev1") is False  # ... or to another one
    assert replicas.b.first_time("Ev2") is True


def test_concurrent_claims_have_one_winner(replicas: Replicas) -> None:
    results: list[bool] = []
    lock = threading.Lock()

    def claim(state: ChatState) -> None:
        won = state.first_time("EvRace")
        with lock:
            results.append(won)

    threads = [threading.Thread(target=claim, args=(s,)) for s in (replicas.a, replicas.b) * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False] * 7 + [True]


def test_a_vote_on_any_replica_is_stored_once_per_user(replicas: Replicas) -> None:
    replicas.a.remember_answer("slack", "C1:1.5", "parental leave?", "16 weeks [1]", ["https://h/leave"])

    first = replicas.b.vote("slack", "C1:1.5", "U1", "up")
    replicas.a.vote("slack", "C1:1.5", "U1", "up")  # the same click delivered twice
    replicas.b.vote("slack", "C1:1.5", "U2", "down")
    replicas.b.vote("slack", "C1:1.5", "U2", "up")  # U2 changes their mind

    assert first is not None and first.answer == "16 weeks [1]" and first.sources == ["https://h/leave"]
    assert replicas.a.feedback_counts() == {"up": 2, "down": 0}
    assert sorted((r.user_id, r.vote) for r in replicas.b.feedback()) == [("U1", "up"), ("U2", "up")]
    assert replicas.a.vote("slack", "C1:unknown", "U1", "up") is None


def _open_at(folder: str, start_at: float) -> str:
    while time.time() < start_at:
        pass
    try:
        SqliteChatState(Path(folder)).close()
    except Exception as error:  # reported back to the test, which fails on it
        return repr(error)
    return "ok"


def test_replicas_starting_at_the_same_moment_all_open_the_sqlite_state(tmp_path: Path) -> None:
    # Two replicas sharing chat.state_dir once crashed at start: switching to WAL does not wait for locks.
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        for attempt in range(8):
            folder = tmp_path / str(attempt)
            start_at = time.time() + 0.5
            assert pool.starmap(_open_at, [(str(folder), start_at)] * 4) == ["ok"] * 4
