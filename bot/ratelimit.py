"""Per-user and global question limits: answer "busy, try again in N s" instead of queuing forever."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["RateLimiter"]

_WINDOW_S = 60.0
# Users tracked before those idle for a whole window are dropped: a long-running bot meets new
# users forever, and an idle user's empty window means the same as no window.
_SWEEP_AT = 1024


class RateLimiter:
    """Sliding one-minute windows; ``check`` records the question when it is allowed."""

    def __init__(self, per_user: int, overall: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_user = per_user
        self.overall = overall
        self.clock = clock
        self._users: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()
        self._sweep_at = _SWEEP_AT
        self._lock = threading.Lock()

    @property
    def tracked_users(self) -> int:
        """How many users' windows are held: at most about twice the users of the last minute."""
        with self._lock:
            return len(self._users)

    def check(self, user: str) -> int | None:
        """None if the question may go ahead, else the whole seconds to wait."""
        now = self.clock()
        with self._lock:
            if len(self._users) >= self._sweep_at:
                self._sweep(now)
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

    def _sweep(self, now: float) -> None:
        """Forget users with nothing in the window; the next sweep waits until the map doubles,
        so sweeping costs O(1) a question on average."""
        self._users = {user: window for user, window in self._users.items() if window and now - window[-1] < _WINDOW_S}
        self._sweep_at = max(_SWEEP_AT, 2 * len(self._users))
