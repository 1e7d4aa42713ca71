"""Seconds spent in each stage of an indexing pass (``ragbot index --profile``).

The stages are listing/fetching, parsing+chunking, loading the model, embedding and writing to
the store. With the pipelined feed, listing and parsing run on their own thread while the main
thread embeds, so the stages add up to more than the wall time: that surplus is the overlap.
Time the producer spends blocked on a full queue (waiting for the embedder) is in no stage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["STAGES", "BusyTime", "StageTimes"]

# list_fetch includes reading the stored document states: both are "what is there now".
STAGES = ("list_fetch", "parse_chunk", "model_load", "embed", "store_write")


class StageTimes:
    """Seconds per stage; safe to add to from the producer thread and the main thread at once."""

    def __init__(self) -> None:
        self._seconds = dict.fromkeys(STAGES, 0.0)
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self._seconds[stage] += seconds

    @contextmanager
    def timing(self, stage: str) -> Iterator[None]:
        """Add the time the block takes (even when it raises) to ``stage``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - started)

    def seconds(self) -> dict[str, float]:
        with self._lock:
            return dict(self._seconds)

    def to_json(self, wall_s: float) -> dict[str, float]:
        """``<stage>_s`` and ``<stage>_share`` (of the wall time) per stage, and ``wall_s``."""
        seconds = self.seconds()
        out = {f"{stage}_s": round(value, 3) for stage, value in seconds.items()}
        out["wall_s"] = round(wall_s, 3)
        for stage, value in seconds.items():
            out[f"{stage}_share"] = round(value / wall_s, 3) if wall_s > 0 else 0.0
        return out


class BusyTime:
    """Seconds during which at least one thread was :meth:`inside`; threads inside together count once.

    The listing's time is its wall time less the time it spent handing documents over: summed per
    thread, a connector handing over from several threads at once would subtract more than the
    wall time (a negative listing time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self._since = 0.0  # when the first of the threads now inside came in
        self._seconds = 0.0

    @contextmanager
    def inside(self) -> Iterator[None]:
        with self._lock:
            if self._inside == 0:
                self._since = time.perf_counter()
            self._inside += 1
        try:
            yield
        finally:
            with self._lock:
                self._inside -= 1
                if self._inside == 0:
                    self._seconds += time.perf_counter() - self._since

    def seconds(self) -> float:
        """The busy seconds so far, the stretch still under way included."""
        with self._lock:
            ongoing = time.perf_counter() - self._since if self._inside else 0.0
            return self._seconds + ongoing
