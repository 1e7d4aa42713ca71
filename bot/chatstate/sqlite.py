"""Chat state in SQLite under the data dir: for one machine (the embedded store).

SQLite's INSERT OR IGNORE makes "first time we see this event" atomic across processes that share
the folder, so a Slack retry or a redelivery is answered once.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import threading
import time
from pathlib import Path

from bot.chatstate.base import SEEN_TTL_S, FeedbackRecord

__all__ = ["SqliteChatState"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen_events (event_id TEXT PRIMARY KEY, seen_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS answers (
    platform TEXT NOT NULL,
    message_id TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    sources TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (platform, message_id)
);
CREATE TABLE IF NOT EXISTS feedback (
    platform TEXT NOT NULL,
    message_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    vote TEXT NOT NULL CHECK (vote IN ('up', 'down')),
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    sources TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (platform, message_id, user_id)
);
"""


class SqliteChatState:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "chat.sqlite3"
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        # Switching to WAL fails at once with "database is locked" (the busy timeout does not apply) when
        # another process opens the same file at that moment, e.g. two replicas starting together.
        with open(data_dir / "chat.sqlite3.lock", "w") as init_lock:
            fcntl.flock(init_lock, fcntl.LOCK_EX)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)

    def first_time(self, event_id: str) -> bool:
        """True exactly once per event id, across processes sharing the data dir."""
        now = time.time()
        with self._lock:
            self._db.execute("DELETE FROM seen_events WHERE seen_at < ?", (now - SEEN_TTL_S,))
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO seen_events (event_id, seen_at) VALUES (?, ?)", (event_id, now)
            )
            return cursor.rowcount == 1

    def remember_answer(self, platform: str, message_id: str, question: str, answer: str, sources: list[str]) -> None:
        """Keep what a posted answer said, so a later vote on it can be stored with it."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?)",
                (platform, message_id, question, answer, json.dumps(sources), time.time()),
            )

    def vote(self, platform: str, message_id: str, user_id: str, vote: str) -> FeedbackRecord | None:
        """Store a vote on a remembered answer; None if the answer is unknown (e.g. expired data dir)."""
        with self._lock:
            row = self._db.execute(
                "SELECT question, answer, sources FROM answers WHERE platform = ? AND message_id = ?",
                (platform, message_id),
            ).fetchone()
        if row is None:
            return None
        record = FeedbackRecord(platform, message_id, user_id, vote, row[0], row[1], json.loads(row[2]))
        self.record_feedback(record)
        return record

    def record_feedback(self, record: FeedbackRecord) -> None:
        """One vote per user and message; a second click changes the vote."""
        with self._lock:
            self._db.execute(
                "INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (platform, message_id, user_id) DO UPDATE SET vote = excluded.vote, "
                "created_at = excluded.created_at",
                (
                    record.platform,
                    record.message_id,
                    record.user_id,
                    record.vote,
                    record.question,
                    record.answer,
                    json.dumps(record.sources),
                    time.time(),
                ),
            )

    def feedback_counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT vote, COUNT(*) FROM feedback GROUP BY vote").fetchall()
        counts = {"up": 0, "down": 0}
        counts.update({vote: count for vote, count in rows})
        return counts

    def feedback(self) -> list[FeedbackRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT platform, message_id, user_id, vote, question, answer, sources FROM feedback"
            ).fetchall()
        return [FeedbackRecord(*row[:6], sources=json.loads(row[6])) for row in rows]

    def close(self) -> None:
        self._db.close()
