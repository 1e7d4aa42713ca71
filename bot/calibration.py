"""Measure where an index puts the answer-or-refuse signals, so one decision fits every corpus.

The decision (``bot/answerability.py``) was fitted on two corpora, a 16-page handbook and 500
pages of Python docs, whose signals sit on different scales: the best cosine of a question the
handbook answers is lower than that of an off-topic question to the Python docs. Fitted on one
and used on the other, the raw decision refused 7 fewer off-topic questions, or 4 more answerable
ones (docs/benchmarks.md, section 13.5). So each index is measured once, without labels: the
mean signals of questions its own pages answer (section headings and first sentences asked as
questions) and of off-topic questions shipped here. The decision reads the corpus-dependent
signals between those two anchors. ``ragbot index`` measures them when the index has changed
by more than a tenth since the last time; ``ragbot serve`` does so in the background.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

import numpy as np

from bot.answerability import Anchors, Signals
from bot.models import point_id
from bot.store import Store

__all__ = ["META_KEY", "OFF_TOPIC_QUESTIONS", "AnchorKeeper", "measure_anchors", "stale", "answerable_questions"]

log = logging.getLogger(__name__)

META_KEY = "answerability_anchors"
_SAMPLE = 80  # questions from the index's own pages
_SEED = 0
_RESIZE = 0.1  # re-measure once the index has grown or shrunk by a tenth
_REREAD_S = 60.0  # a serving process re-reads the recorded anchors (and the index size) this often
_RETRY_S = 600.0  # after a failed background measurement, wait this long before the next

# Questions no team's docs answer, and vague ones any docs half-answer: what the bot hears off-topic.
OFF_TOPIC_QUESTIONS = (
    "how do I get started",
    "where is the documentation for this",
    "how do I install it",
    "who do I ask for help",
    "what are the requirements",
    "how do I configure it",
    "what does this error mean",
    "is there a limit",
    "how long does it take",
    "how do I reset it",
    "can I change the default",
    "what is the recommended way to do this",
    "how do I update to the latest version",
    "why is it slow",
    "how do I turn it off",
    "where are the logs",
    "what happens if it fails",
    "how do I test it",
    "what is the difference between the two options",
    "how much does it cost",
    "what's the weather tomorrow",
    "best pizza place nearby",
    "how do I bake sourdough bread",
    "who won the football game last night",
    "what's a good movie to watch",
    "how tall is mount everest",
    "recommend a podcast about history",
    "how do I fix a flat bike tire",
    "what time zone is tokyo in",
    "how to knit a scarf",
    "translate hello into spanish",
    "what is the capital of australia",
    "how many calories in a banana",
    "tips for running a marathon",
    "how do I water succulents",
    "what is the meaning of life",
    "when does the store close today",
    "how do I meditate",
    "best way to learn guitar",
    "how to change a car oil",
)


def answerable_questions(store: Store, count: int = _SAMPLE, seed: int = _SEED) -> list[str]:
    """Questions the index's own pages answer: the heading or the first sentence of sampled chunks,
    asked as a question (the same pseudo-queries ``ragbot train`` learns from)."""
    from bot.train.pairs import first_sentence_query, heading_query  # not on the question path

    chunks = [
        point_id(doc_id, index)
        for doc_id, state in sorted(store.document_states().items())
        for index in range(state.index_end)
    ]
    pick = random.Random(seed)
    sample = pick.sample(chunks, min(len(chunks), count * 2))  # some chunks yield no question
    questions: list[str] = []
    for passage in sorted(store.fetch(sample), key=lambda p: sample.index(point_id(p.doc_id, p.chunk_index))):
        heading = heading_query(passage.title, passage.section, seed)
        sentence = first_sentence_query(passage.text, seed)
        options = [q for q in (heading, sentence[0] if sentence else None) if q]
        if options:
            questions.append(pick.choice(options))
        if len(questions) == count:
            break
    return questions


def measure_anchors(
    store: Store, signals_of: Callable[[str], Signals], key: str = "", stopped: Callable[[], bool] = lambda: False
) -> Anchors | None:
    """The mean signals of the index's own questions and of off-topic ones (about 120 questions);
    None when ``stopped`` says so between two questions (a shutdown does not wait for the rest)."""

    def mean(questions: list[str] | tuple[str, ...]) -> dict[str, float] | None:
        rows = []
        for question in questions:
            if stopped():
                return None
            rows.append(signals_of(question).vector())
        values = np.array(rows) if rows else np.zeros((1, len(Signals.FEATURES)))
        return {name: round(float(v), 6) for name, v in zip(Signals.FEATURES, values.mean(axis=0))}

    answerable = mean(answerable_questions(store))
    off_topic = mean(OFF_TOPIC_QUESTIONS) if answerable is not None else None
    if answerable is None or off_topic is None:
        return None
    return Anchors(answerable=answerable, off_topic=off_topic, chunks=store.count(), key=key)


def stale(recorded: Anchors | None, chunks: int, key: str = "") -> bool:
    """Missing, measured by another setup (query encoder, precision, retrieval settings: ``key``),
    or on an index a tenth smaller or larger than it is now."""
    if recorded is None or recorded.key != key:
        return True
    return abs(chunks - recorded.chunks) > _RESIZE * max(recorded.chunks, 1)


class AnchorKeeper:
    """The index's recorded anchors for the decision, read from the store's metadata at most once a
    minute; :meth:`calibrate` measures and records them. With ``background``, a stale or missing
    record is re-measured on a thread while questions go on with the last one (``ragbot serve``:
    another process may have reindexed). ``key`` names what the signals depend on besides the
    index (query encoder, precision, retrieval settings): anchors measured under another are stale."""

    def __init__(
        self,
        store: Callable[[], Store],
        signals_of: Callable[[str], Signals],
        key: Callable[[], str] = lambda: "",
        background: bool = False,
    ) -> None:
        self._store = store
        self._signals_of = signals_of
        self._key = key
        self.background = background
        self._lock = threading.Lock()
        self._read_at = -_REREAD_S
        self._failed_at = -_RETRY_S
        self._anchors: Anchors | None = None
        self._measuring: threading.Thread | None = None
        self._stop = threading.Event()

    def current(self) -> Anchors | None:
        """The recorded anchors (None: never measured; the decision then uses its defaults). A
        store that can't be read keeps the last ones: a question never fails for this."""
        now = time.monotonic()
        if now - self._read_at < _REREAD_S:
            return self._anchors
        with self._lock:
            self._read_at = now
            try:
                self._anchors = self._recorded()
                if self._anchors is None and not self.background:
                    log.info("no answer-or-refuse anchors recorded yet (defaults in use); `ragbot index` measures them")
                if self._should_measure(now):
                    self._measuring = threading.Thread(target=self._measure, name="ragbot-calibrate", daemon=True)
                    self._measuring.start()
            except Exception as exc:  # the store is down: the last anchors (or defaults) stay in use
                log.debug("reading the answer-or-refuse anchors failed: %s", exc)
            return self._anchors

    def _should_measure(self, now: float) -> bool:
        if not self.background or self._measuring is not None or self._stop.is_set():
            return False
        if now - self._failed_at < _RETRY_S:
            return False  # a failed measurement is not retried every minute
        return stale(self._anchors, self._store().count(), self._key())

    def calibrate(self, force: bool = False, stop: threading.Event | None = None) -> Anchors | None:
        """Measure and record the anchors if they are missing or stale (or ``force``); None on an
        empty index, or when ``stop`` (or :meth:`close`) interrupts the measurement."""
        store = self._store()
        chunks = store.count()
        if not chunks:
            return None
        recorded, key = self._recorded(), self._key()
        if not force and not stale(recorded, chunks, key):
            return recorded
        stopped = _either(stop, self._stop)
        anchors = measure_anchors(store, self._signals_of, key, stopped)
        if anchors is None:
            return None
        store.update_meta({META_KEY: anchors.to_json()})
        with self._lock:
            self._anchors, self._read_at = anchors, time.monotonic()
        log.info("answer-or-refuse anchors measured on %d chunks", anchors.chunks)
        return anchors

    def calibrate_quietly(self, stop: threading.Event | None = None) -> Anchors | None:
        """:meth:`calibrate`, for after an index run: a failure is logged, never raised (the run
        itself succeeded; the decision keeps the last anchors and the next run tries again)."""
        try:
            return self.calibrate(stop=stop)
        except Exception as exc:  # e.g. the store went away mid-way
            log.warning("measuring the answer-or-refuse anchors failed: %s; the last ones stay in use", exc)
            return None

    def close(self) -> None:
        """Stop a background measurement and wait for it (before the store it reads is closed)."""
        self._stop.set()
        measuring = self._measuring
        if measuring is not None:
            measuring.join(timeout=30)

    def _recorded(self) -> Anchors | None:
        data = self._store().meta().get(META_KEY)
        try:
            return Anchors.from_json(data) if data else None
        except (KeyError, TypeError, ValueError):
            return None  # written by another version: measured again

    def _measure(self) -> None:
        try:
            if self.calibrate_quietly() is None and not self._stop.is_set():
                self._failed_at = time.monotonic()
        finally:
            with self._lock:
                self._measuring = None


def _either(*events: threading.Event | None) -> Callable[[], bool]:
    return lambda: any(e is not None and e.is_set() for e in events)
