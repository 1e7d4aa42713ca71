"""Chat state in a Qdrant collection (``<collection>_chat``): for replicas on several machines.

Every replica talks to the same Qdrant, so the claim "this event is mine" has to be atomic
there: each claim upserts the event's point in insert-only mode with a fresh token, and only
the call whose token is then stored won. Qdrant orders writes to a point through its shard
leader, so exactly one replica answers, retries and redeliveries included. Answers and votes
are points with deterministic ids, so a vote stored twice is stored once.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
import uuid
from typing import Any

from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from bot.chatstate.base import SEEN_TTL_S, FeedbackRecord
from bot.chatstate.questions import QuestionRecord
from bot.config import StoreConfig
from bot.store.qdrant import connect_server

__all__ = ["QdrantChatState"]

log = logging.getLogger(__name__)

_NAMESPACE = uuid.UUID("5d1f0c52-9a57-4f3c-8f0e-1f6f3c0d2b7a")
_CLEANUP_EVERY = 200  # claims between deletions of expired event points
_LOCAL_CLAIMS = threading.Lock()


def _point_id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


def _kind(kind: str, **fields: str) -> models.Filter:
    conditions: list[models.Condition] = [models.FieldCondition(key="kind", match=models.MatchValue(value=kind))]
    conditions += [models.FieldCondition(key=k, match=models.MatchValue(value=v)) for k, v in fields.items()]
    return models.Filter(must=conditions)


class QdrantChatState:
    def __init__(self, client: QdrantClient, collection: str, server: bool = True, owns_client: bool = False) -> None:
        self.client = client
        self._owns_client = owns_client
        self.collection = collection
        self._server = server
        self._claims = 0
        self._ready = False
        self._ready_lock = threading.Lock()
        # A server applies each insert-only upsert atomically; local mode (one process, tests)
        # does not, so there claims are serialised in the process.
        self._claim_lock: contextlib.AbstractContextManager = contextlib.nullcontext() if server else _LOCAL_CLAIMS
        try:
            self._ensure_collection()
        except Exception as exc:  # Qdrant down at start: serve anyway, make the collection on first use
            log.warning("chat state collection %s not ready yet (%s); will retry on first use", collection, exc)

    @classmethod
    def connect(cls, config: StoreConfig, collection: str) -> QdrantChatState:
        """Chat state on the Qdrant server of ``config`` (the index's own), over a client it owns and closes."""
        return cls(connect_server(config), collection, server=True, owns_client=True)

    def _ensure_collection(self) -> None:
        """Create the collection once; retried on each use until Qdrant can be reached."""
        if self._ready:
            return
        with self._ready_lock:
            if self._ready:
                return
            client, collection = self.client, self.collection
            if not client.collection_exists(collection):
                try:
                    client.create_collection(collection, vectors_config={})  # payload-only points
                except UnexpectedResponse:
                    if not client.collection_exists(collection):  # not just another replica winning the race
                        raise
                if self._server:
                    for field in ("kind", "vote", "message_id"):
                        client.create_payload_index(collection, field, models.PayloadSchemaType.KEYWORD)
                    client.create_payload_index(collection, "at", models.PayloadSchemaType.FLOAT)
            self._ready = True

    def first_time(self, event_id: str) -> bool:
        point = _point_id("event", event_id)
        token = uuid.uuid4().hex  # per call: a retry landing on this same replica must lose too
        claim = {"kind": "event", "owner": token, "at": time.time()}
        try:
            self._ensure_collection()
            with self._claim_lock:
                self.client.upsert(
                    self.collection,
                    [models.PointStruct(id=point, vector={}, payload=claim)],
                    update_mode=models.UpdateMode.INSERT_ONLY,
                    wait=True,
                )
                stored = self.client.retrieve(self.collection, [point], with_payload=True)
        except Exception as exc:  # Qdrant down: answering twice beats not answering
            log.warning("cannot record event %s in Qdrant (%s); answering anyway", event_id, exc)
            return True
        self._claims += 1
        if self._claims % _CLEANUP_EVERY == 0:
            self._forget_old_events()
        return bool(stored) and (stored[0].payload or {}).get("owner") == token

    def _forget_old_events(self) -> None:
        expired = models.Filter(
            must=[
                models.FieldCondition(key="kind", match=models.MatchValue(value="event")),
                models.FieldCondition(key="at", range=models.Range(lt=time.time() - SEEN_TTL_S)),
            ]
        )
        self.client.delete(self.collection, points_selector=models.FilterSelector(filter=expired))

    def remember_answer(self, platform: str, message_id: str, question: str, answer: str, sources: list[str]) -> None:
        payload = {"kind": "answer", "question": question, "answer": answer, "sources": sources, "at": time.time()}
        self._put(_point_id("answer", platform, message_id), payload)

    def vote(self, platform: str, message_id: str, user_id: str, vote: str) -> FeedbackRecord | None:
        self._ensure_collection()
        stored = self.client.retrieve(self.collection, [_point_id("answer", platform, message_id)], with_payload=True)
        if not stored:
            return None
        answer = stored[0].payload or {}
        record = FeedbackRecord(
            platform, message_id, user_id, vote, answer["question"], answer["answer"], list(answer["sources"])
        )
        payload = {"kind": "feedback", **record.__dict__, "at": time.time()}
        self._put(_point_id("feedback", platform, message_id, user_id), payload)  # same id: one vote per user
        return record

    def _put(self, point: str, payload: dict[str, Any]) -> None:
        self._ensure_collection()
        self.client.upsert(self.collection, [models.PointStruct(id=point, vector={}, payload=payload)], wait=True)

    def feedback_counts(self) -> dict[str, int]:
        self._ensure_collection()
        return {
            vote: self.client.count(self.collection, count_filter=_kind("feedback", vote=vote), exact=True).count
            for vote in ("up", "down")
        }

    def feedback(self) -> list[FeedbackRecord]:
        self._ensure_collection()
        records, offset = [], None
        while True:
            points, offset = self.client.scroll(
                self.collection, scroll_filter=_kind("feedback"), limit=256, offset=offset, with_payload=True
            )
            for point in points:
                p = point.payload or {}
                records.append(
                    FeedbackRecord(
                        p["platform"],
                        p["message_id"],
                        p["user_id"],
                        p["vote"],
                        p["question"],
                        p["answer"],
                        p["sources"],
                    )
                )
            if offset is None:
                return records

    # -- the question log: one point per question, looked up by id or by its posted message -------
    def log_question(self, record: QuestionRecord) -> None:
        self._put(_point_id("question", record.id), {"kind": "question", **record.to_json(), "at": record.asked_at})

    def attach_question(self, question_id: str, platform: str, message_id: str) -> None:
        self._ensure_collection()
        self.client.set_payload(
            self.collection, {"message_id": message_id}, points=[_point_id("question", question_id)], wait=True
        )

    def _question_point(self, platform: str, message_id: str) -> str | None:
        self._ensure_collection()
        points, _ = self.client.scroll(
            self.collection,
            scroll_filter=_kind("question", platform=platform, message_id=message_id),
            limit=1,
            with_payload=False,
        )
        return str(points[0].id) if points else None

    def tally_question_votes(self, platform: str, message_id: str) -> bool:
        point = self._question_point(platform, message_id)
        if point is None:
            return False
        votes = {
            f"votes_{vote}": self.client.count(
                self.collection,
                count_filter=_kind("feedback", platform=platform, message_id=message_id, vote=vote),
                exact=True,
            ).count
            for vote in ("up", "down")
        }
        self.client.set_payload(self.collection, votes, points=[point], wait=True)
        return True

    def escalate_question(self, platform: str, message_id: str) -> bool:
        point = self._question_point(platform, message_id)
        if point is not None:
            self.client.set_payload(self.collection, {"escalated": True}, points=[point], wait=True)
        return point is not None

    def _asked(self, since: float | None, before: float | None = None) -> models.Filter:
        window = models.Range(gte=since, lt=before)
        return models.Filter(
            must=[
                models.FieldCondition(key="kind", match=models.MatchValue(value="question")),
                models.FieldCondition(key="at", range=window),
            ]
        )

    def questions(self, since: float | None = None) -> list[QuestionRecord]:
        self._ensure_collection()
        records: list[QuestionRecord] = []
        offset = None
        while True:
            points, offset = self.client.scroll(
                self.collection, scroll_filter=self._asked(since), limit=512, offset=offset, with_payload=True
            )
            records.extend(QuestionRecord.from_json(point.payload or {}) for point in points)
            if offset is None:
                return sorted(records, key=lambda r: r.asked_at)

    def prune_questions(self, before: float) -> int:
        self._ensure_collection()
        expired = self._asked(None, before)
        count = self.client.count(self.collection, count_filter=expired, exact=True).count
        if count:
            self.client.delete(self.collection, points_selector=models.FilterSelector(filter=expired), wait=True)
        return count

    def insights_salt(self) -> bytes:
        """One salt for every replica, whichever machine it runs on: the first to store it wins
        (an insert-only upsert, as for event claims), the others read it back."""
        self._ensure_collection()
        point = _point_id("insights-salt")
        proposal = {"kind": "salt", "salt": secrets.token_hex(32), "at": time.time()}
        with self._claim_lock:
            self.client.upsert(
                self.collection,
                [models.PointStruct(id=point, vector={}, payload=proposal)],
                update_mode=models.UpdateMode.INSERT_ONLY,
                wait=True,
            )
            stored = self.client.retrieve(self.collection, [point], with_payload=True)
        return bytes.fromhex((stored[0].payload or {})["salt"])

    def close(self) -> None:
        if self._owns_client:
            self.client.close()
