"""A seeded question log for the gaps and admin page tests: three gaps with known members, questions
that went well, one asked in a restricted (HR) channel, and one too old for a 30-day window."""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.chatstate import ChatState, QuestionRecord

__all__ = ["GYM", "PARKING", "KUBERNETES", "HR_ONLY", "ANSWERED", "OLD", "seed", "seed_history", "Seeded"]

DAY = 86400.0
GYM = [  # refused, four people
    ("UA", "Can I expense my gym membership?"),
    ("UB", "does the company pay for a gym?"),
    ("UC", "is there a wellness allowance for fitness classes"),
    ("UD", "will acme cover part of my gym subscription"),
    ("UA", "reimbursement for yoga classes"),
]
PARKING = [  # refused, three people
    ("UE", "Is there parking at the office?"),
    ("UF", "where can I park my car at the Berlin office"),
    ("UG", "do we get a parking spot"),
]
KUBERNETES = [  # answered, then 👎 and one escalated: the page exists but does not answer it
    ("UH", "How do I get access to the Kubernetes cluster?"),
    ("UH", "where do I get kubectl credentials"),
]
HR_ONLY = ("UI", "can I see the salary bands for engineers")  # refused in the HR channel
ANSWERED = [("UJ", "how do I roll back a bad deploy?"), ("UK", "how many vacation days do we get?")]
OLD = ("UL", "what is the wifi password in the office")  # refused 60 days ago


@dataclass
class Seeded:
    records: list[QuestionRecord]

    def by_question(self, question: str) -> QuestionRecord:
        return next(r for r in self.records if r.question == question)


def _record(n: int, user: str, question: str, outcome: str, days_ago: float, **fields: object) -> QuestionRecord:
    return QuestionRecord(
        id=f"seed{n:03d}",
        asked_at=time.time() - days_ago * DAY,
        platform="slack",
        channel=str(fields.pop("channel", "C1")),
        user=f"h:{user.lower()}",
        question=question,
        standalone=question,
        outcome=outcome,
        top_score=float(fields.pop("top_score", 0.3)),  # type: ignore[arg-type]
        latency_ms=float(fields.pop("latency_ms", 120 + 10 * n)),  # type: ignore[arg-type]
        answer=str(fields.pop("answer", "I couldn't find this in the docs." if outcome == "refused" else "…")),
        sets=list(fields.pop("sets", ["public"])),  # type: ignore[call-overload]
        **fields,  # type: ignore[arg-type]
    )


def seed(state: ChatState) -> Seeded:
    """Write the seeded log into ``state``; the records written."""
    records: list[QuestionRecord] = []
    n = 0
    for group, days in ((GYM, 1.0), (PARKING, 3.0)):
        for user, question in group:
            n += 1
            records.append(_record(n, user, question, "refused", days + n * 0.01))
    for i, (user, question) in enumerate(KUBERNETES):
        n += 1
        records.append(
            _record(
                n,
                user,
                question,
                "answered",
                2.0,
                top_score=0.52,
                answer="Connect to the VPN first [1]",
                cited=["https://handbook.acme.example/vpn.md#vpn-and-remote-access"],
                message_id=f"C1:{n}.0",
                votes_down=1,
                escalated=i == 1,
            )
        )
    n += 1
    records.append(_record(n, *HR_ONLY, "refused", 1.5, channel="CHR", sets=["hr", "public"], restricted=True))
    for user, question in ANSWERED:
        n += 1
        records.append(_record(n, user, question, "answered", 0.5, top_score=0.71, votes_up=1))
    n += 1
    records.append(_record(n, *OLD, "refused", 60.0))
    n += 1
    records.append(_record(n, "UM", "how do I deploy?", "rate_limited", 0.2, top_score=0.0))
    for record in records:
        if record.top_score == 0.0:
            record.top_score = None
        state.log_question(record)
    return Seeded(records)


def seed_history(state: ChatState, days: int = 30) -> int:
    """A month of ordinary traffic under the seeded gaps (answered questions, a few refusals and
    errors, a few votes), deterministic, so the admin page's chart has something to draw."""
    import json
    import random

    from tests.support.project import REPO

    rows = [json.loads(line) for line in (REPO / "samples" / "eval.jsonl").read_text().splitlines() if line]
    answerable = [r["question"] for r in rows if r.get("answerable", True)]
    unanswerable = [r["question"] for r in rows if not r.get("answerable", True)]
    rng = random.Random(16)
    n = 0
    for day in range(days):
        weekday_load = 4 if (days - day) % 7 in (0, 6) else 12
        for _ in range(rng.randint(weekday_load // 2, weekday_load)):
            n += 1
            roll = rng.random()
            outcome = "answered" if roll < 0.8 else "refused" if roll < 0.95 else "error"
            question = rng.choice(answerable if outcome != "refused" else unanswerable)
            record = _record(
                900 + n,
                f"UH{rng.randint(1, 40)}",
                question,
                outcome,
                day + rng.random() * 0.9 + 0.05,
                top_score=round(rng.uniform(0.45, 0.8) if outcome == "answered" else rng.uniform(0.1, 0.35), 3),
                latency_ms=round(rng.lognormvariate(5.0, 0.5), 1),
                votes_up=int(outcome == "answered" and rng.random() < 0.2),
            )
            record.id = f"hist{n:04d}"
            state.log_question(record)
    return n
