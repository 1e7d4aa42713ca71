"""Chat state in SQLite under the data dir: for one machine (the embedded store).

SQLite's INSERT OR IGNORE makes "first time we see this event" atomic across processes that share
the folder, so a Slack retry or a redelivery is answered once.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import sqlite3
import threading
import time
from pathlib import Path

from bot.chatstate.base import SEEN_TTL_S, FeedbackRecord
from bot.chatstate.questions import QuestionRecord

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
CREATE TABLE IF NOT EXISTS questions (
    id TEXT PRIMARY KEY,
    asked_at REAL NOT NULL,
    platform TEXT NOT NULL,
    message_id TEXT,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS questions_asked_at ON questions (asked_at);
CREATE INDEX IF NOT EXISTS questions_message ON questions (platform, message_id);
"""
_SALT_FILE = "insights.salt"


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
        return [FeedbackRecord(p, m, u, v, q, a, json.loads(sources)) for p, m, u, v, q, a, sources in rows]

    # -- the question log: one JSON record per row, with the columns it is looked up by ------------
    def log_question(self, record: QuestionRecord) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO questions VALUES (?, ?, ?, ?, ?)",
                (record.id, record.asked_at, record.platform, record.message_id, json.dumps(record.to_json())),
            )

    def attach_question(self, question_id: str, platform: str, message_id: str) -> None:
        with self._lock:
            self._update(question_id, message_id=message_id)
            self._db.execute("UPDATE questions SET message_id = ? WHERE id = ?", (message_id, question_id))

    def tally_question_votes(self, platform: str, message_id: str) -> bool:
        with self._lock:
            rows = self._db.execute(
                "SELECT vote, COUNT(*) FROM feedback WHERE platform = ? AND message_id = ? GROUP BY vote",
                (platform, message_id),
            ).fetchall()
            counts = dict(rows)
            return self._update_by_message(
                platform, message_id, votes_up=counts.get("up", 0), votes_down=counts.get("down", 0)
            )

    def escalate_question(self, platform: str, message_id: str) -> bool:
        with self._lock:
            return self._update_by_message(platform, message_id, escalated=True)

    def _update_by_message(self, platform: str, message_id: str, **fields: object) -> bool:
        row = self._db.execute(
            "SELECT id FROM questions WHERE platform = ? AND message_id = ?", (platform, message_id)
        ).fetchone()
        return row is not None and self._update(row[0], **fields)

    def _update(self, question_id: str, **fields: object) -> bool:
        """Change fields of one record in place (the caller holds the lock)."""
        row = self._db.execute("SELECT record FROM questions WHERE id = ?", (question_id,)).fetchone()
        if row is None:
            return False
        record = {**json.loads(row[0]), **fields}
        self._db.execute("UPDATE questions SET record = ? WHERE id = ?", (json.dumps(record), question_id))
        return True

    def questions(self, since: float | None = None) -> list[QuestionRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT record FROM questions WHERE asked_at >= ? ORDER BY asked_at", (since or 0.0,)
            ).fetchall()
        return [QuestionRecord.from_json(json.loads(row[0])) for row in rows]

    def prune_questions(self, before: float) -> int:
        with self._lock:
            return self._db.execute("DELETE FROM questions WHERE asked_at < ?", (before,)).rowcount

    def insights_salt(self) -> bytes:
        """Kept in a file of its own (mode 600) beside the database, so an exported log or a copied
        database alone does not let anyone test guesses of user ids against the hashes."""
        path = self.path.parent / _SALT_FILE
        if not path.exists():
            partial = path.with_name(f".{_SALT_FILE}.{os.getpid()}")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
            try:
                os.link(partial, path)  # fails if another process published its salt first: use that one
            except FileExistsError:
                pass
            finally:
                partial.unlink(missing_ok=True)
        return bytes.fromhex(path.read_text().strip())

    def close(self) -> None:
        self._db.close()
