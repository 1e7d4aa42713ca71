"""Per-user and global question limits: answer "busy, try again in N s" instead of queuing forever."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["RateLimiter"]

_WINDOW_S = 60.0


class RateLimiter:
    """Sliding one-minute windows; ``check`` records the question when it is allowed."""

    def __init__(self, per_user: int, overall: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_user = per_user
        self.overall = overall
        self.clock = clock
        self._users: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()
        self._lock = threading.Lock()

    def check(self, user: str) -> int | None:
        """None if the question may go ahead, else the whole seconds to wait."""
        now = self.clock()
        with self._lock:
            mine = self._users.setdefault(user, deque())
            for window in (mine, self._all):
                while window and now - window[0] >= _WINDOW_S:
                    window.popleft()
            waits = [
                _WINDOW_S - (now - window[0])
                for window, limit in ((mine, self.per_user), (self._all, self.overall))
                if len(window) >= limit
            ]
            if waits:
                return max(1, math.ceil(max(waits)))
            mine.append(now)
            self._all.append(now)
            return None
