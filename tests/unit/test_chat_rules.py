"""Chat behaviour shared by the adapters: rate limits, follow-up rewriting, event de-duplication."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from bot.chatstate import SqliteChatState
from bot.conversation import Turn, standalone_question
from bot.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_user_over_the_limit_is_told_when_to_come_back() -> None:
    clock = Clock()
    limiter = RateLimiter(per_user=2, overall=100, clock=clock)

    assert limiter.check("alice") is None
    clock.now += 10
    assert limiter.check("alice") is None
    clock.now += 5
    assert limiter.check("alice") == 45  # the first question leaves the window in 45 s
    assert limiter.check("bob") is None  # others are not affected
    clock.now += 45
    assert limiter.check("alice") is None


def test_the_overall_limit_covers_everyone() -> None:
    limiter = RateLimiter(per_user=10, overall=2, clock=Clock())
    assert limiter.check("a") is None and limiter.check("b") is None
    assert limiter.check("c") == 60


def test_a_refused_question_does_not_use_up_the_allowance() -> None:
    clock = Clock()
    limiter = RateLimiter(per_user=1, overall=100, clock=clock)
    limiter.check("alice")
    for _ in range(5):
        limiter.check("alice")
    clock.now += 60
    assert limiter.check("alice") is None


HISTORY = [Turn("user", "how many vacation days do we get"), Turn("bot", "Everyone gets 28 days [1]")]


def test_follow_ups_that_lean_on_the_thread_are_made_standalone() -> None:
    assert standalone_question(HISTORY, "and do they carry over?") == (
        "how many vacation days do we get and do they carry over?"
    )
    assert standalone_question(HISTORY, "what about contractors?").startswith("how many vacation days")
    assert standalone_question(HISTORY, "sick leave?") == "how many vacation days do we get sick leave?"


def test_a_new_full_question_stays_as_it_is() -> None:
    question = "how do I roll back a bad deploy in shipit"
    assert standalone_question(HISTORY, question) == question
    assert standalone_question([], "and then?") == "and then?"


def _first_time_in_process(path: str, results) -> None:  # type: ignore[no-untyped-def]
    results.put(SqliteChatState(Path(path)).first_time("Ev-shared"))


def test_an_event_is_claimed_once_across_processes(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_first_time_in_process, args=(str(tmp_path), results)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    claims = [results.get(timeout=10) for _ in workers]
    assert sorted(claims) == [False, False, False, True]
