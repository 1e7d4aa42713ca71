"""Caches a long-running `ragbot serve` keeps stay bounded however many people and channels it meets."""

from __future__ import annotations

from bot.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_day_of_new_askers_leaves_only_the_last_minutes_windows() -> None:
    clock = Clock()
    limiter = RateLimiter(per_user=3, overall=10_000, clock=clock)

    for n in range(20_000):  # a new person every second for five and a half hours
        clock.now += 1.0
        assert limiter.check(f"U{n}") is None

    assert limiter.tracked_users <= 2 * 1024


def test_forgetting_idle_askers_keeps_the_limit_of_someone_still_in_their_minute() -> None:
    clock = Clock()
    limiter = RateLimiter(per_user=2, overall=100_000, clock=clock)
    for n in range(3000):  # idle people, long gone
        limiter.check(f"old{n}")
    clock.now += 120.0
    assert limiter.check("busy") is None and limiter.check("busy") is None

    for n in range(5000):  # a crowd in the same minute makes the map sweep several times
        clock.now += 0.001
        limiter.check(f"new{n}")

    assert limiter.check("busy") is not None  # still at their limit
    assert limiter.tracked_users <= 5001 + 1
