"""The shared RAG core every front end (CLI, Slack, Discord) calls: question in, Answer out.

question -> retrieve -> generate -> cite. Platform code never reaches in here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection
from typing import Any

import numpy as np

from bot import metrics
from bot.answerability import Decision, Signals, load_model, signals_for
from bot.calibration import AnchorKeeper
from bot.citing import citation, renumbered
from bot.config import Settings
from bot.embedder import Embedder
from bot.embedder_precision import fit_index, settle_before_load
from bot.errors import IndexEmpty, InputError
from bot.generate import Generator, make_generator
from bot.generate.base import declines, keep_valid_citations
from bot.generate.extractive import ExtractiveGenerator, ScoredUnit, UnitRanker, render_units, select_units
from bot.generate.guard import degenerate
from bot.models import Answer
from bot.retriever import RetrievedSource, Retriever
from bot.shorthand import expand_shorthand
from bot.sparse import identifiers, query_vector
from bot.store import Store, open_store
from bot.terms import content_terms

__all__ = ["RagCore", "NOT_FOUND_TEXT", "validate_question"]

log = logging.getLogger(__name__)

NOT_FOUND_TEXT = "I couldn't find this in the docs. The closest pages I found are listed below; they may help."
_CLOSEST_SHOWN = 3
_EMPTY_INDEX = "the index is empty; run `ragbot index` first"


def validate_question(question: str, max_chars: int) -> str:
    question = " ".join(question.split())
    if not question:
        raise InputError('the question is empty; ask something like: ragbot ask "how do I deploy?"')
    if len(question) > max_chars:
        raise InputError(
            f"the question is {len(question)} characters long; the limit is {max_chars} "
            "(limits.max_question_chars). Ask a shorter question."
        )
    return question


class RagCore:
    """Owns the store, the embedder and the generator; each is opened once, on first use.

    A serving process answers several questions at once, so the first two questions must not
    both load the models: every part is created under one lock, and the embedder is loaded
    (weights in memory) before any caller sees it. ``loads`` counts what was opened."""

    def __init__(self, settings: Settings, *, store: Store | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._parts: dict[str, Any] = {"store": store} if store is not None else {}
        if embedder is not None:  # e.g. one pinned to a query encoder under test (bot/train)
            self._parts["embedder"] = embedder
        self._lock = threading.RLock()
        self._model_checked = False
        self.loads: Counter[str] = Counter()
        # where this index puts the decision's signals (bot/calibration.py); serve measures in the background
        self.anchors = AnchorKeeper(lambda: self.store, self.decision_signals, self._anchors_key)

    def _part(self, name: str, make: Callable[[], Any]) -> Any:
        part = self._parts.get(name)
        if part is not None:
            return part
        with self._lock:
            if name not in self._parts:
                self._parts[name] = make()
                self.loads[name] += 1
            return self._parts[name]

    @property
    def store(self) -> Store:
        return self._part("store", lambda: open_store(self.settings))

    @property
    def embedder(self) -> Embedder:
        return self._part("embedder", self._load_embedder)

    def _load_embedder(self) -> Embedder:
        embedder = self.new_embedder()
        if not self.settings.store.url:  # embedded: its metadata is a local read (a server may be down)
            settle_before_load(embedder, lambda: self.store)
        embedder.dimension  # noqa: B018  (loads the weights now, under the lock)
        embedder.on_switch = self._record_query_encoder
        return embedder

    def new_embedder(self) -> Embedder:
        """An encoder for these settings, weights not loaded yet (``ragbot index`` loads them only
        when a document needs embedding; the core's own :attr:`embedder` loads at once)."""
        models = self.settings.data_dir / "models"  # also where trained query encoders live (ragbot train)
        return Embedder(self.settings.embedding, cache_dir=models, query_models=models)

    def _record_query_encoder(self, name: str) -> None:
        """The index records which query encoder searches it (`ragbot train --activate` may not
        have been able to write it: an embedded index is held by the serving process)."""
        value = None if name == "base" else name
        if self.store.collection_exists() and self.store.meta().get("query_encoder") != value:
            self.store.update_meta({"query_encoder": value})

    @property
    def retriever(self) -> Retriever:
        retrieval = self.settings.retrieval
        return self._part(
            "retriever",
            lambda: Retriever(
                self.store,
                self.embedder,
                hybrid=retrieval.hybrid,
                neighbours=retrieval.neighbours,
                fusion=retrieval.fusion,
                keyword_weight=retrieval.keyword_weight,
            ),
        )

    @property
    def generator(self) -> Generator:
        return self._part("generator", self._load_generator)

    def _load_generator(self) -> Generator:
        generator = make_generator(self.settings, self.embedder)
        load = getattr(generator, "load", None)
        if load is not None:  # a local LM: load its weights now, once, not inside a question
            load()
        return generator

    def load_models(self) -> int:
        """Load the encoder and the generator now (a server does, before its first question);
        returns the encoder's dimension. With an embedded store and ``precision = "auto"`` this
        opens the store first, to read the precision the index was built with (a store that can't
        be opened is left to the first question); a server store is not asked here."""
        dimension = self.embedder.dimension
        self.generator  # noqa: B018
        return dimension

    @property
    def embedder_loaded(self) -> bool:
        """The encoder is in memory (readiness); never triggers the load itself."""
        embedder = self._parts.get("embedder")
        return embedder is not None and embedder.loaded

    def probe_store(self) -> bool:
        """Ask the store now, bypassing caches, whether the collection exists (readiness checks).

        Raises StoreUnavailable when the store can't be reached."""
        return self.store.probe()

    def ask(
        self,
        question: str,
        k: int | None = None,
        source: str | None = None,
        sets: Collection[str] | None = None,
        on_partial: Callable[[str], None] | None = None,
    ) -> Answer:
        """Answer from the index; with ``sets``, only from documents in those sets (None: all).

        ``on_partial`` gets the answer so far while a streaming generator writes it (called from
        this thread); the returned Answer is what counts."""
        started = time.perf_counter()
        question = validate_question(question, self.settings.limits.max_question_chars)
        if source is not None:
            self.settings.source(source)  # unknown names fail with the list of known ones
        if not self.store.collection_exists():
            raise IndexEmpty(_EMPTY_INDEX)
        self._check_model_fits_index()
        words = self._keyword_check(source, sets)
        in_corpus = words if self.settings.retrieval.answerability != "threshold" else None
        asked, question = question, self._spelt_out(question, words)
        with metrics.STAGE_SECONDS.labels("retrieve").time():
            # One query vector per question: a query encoder activated meanwhile applies from the next one.
            vector = self.embedder.embed_query(question)
            sources = self.retriever.retrieve(
                question, k or self.settings.retrieval.k, source=source, sets=sets, vector=vector
            )
        if not sources and self.store.count() == 0:  # counted only when nothing came back
            raise IndexEmpty(_EMPTY_INDEX)
        names = identifiers(question)
        if sources:
            metrics.TOP_SCORE.observe(max(s.score for s in sources))
        with metrics.STAGE_SECONDS.labels("select").time():
            units = self.ranker.rank(question, sources, query=vector)
            decision = self._decide(question, names, sources, units, in_corpus)
        relevant, units = renumbered(self._citable(names, sources) if decision.answer else [], units)
        metrics.RETRIEVAL_HITS.inc(len(relevant))
        with metrics.STAGE_SECONDS.labels("generate").time():
            text = self._generate(question, relevant, units, on_partial) if relevant else ""
        answered = bool(text) and not declines(text)
        if not answered:
            metrics.REFUSALS.inc()
        shown = relevant if answered else sources[:_CLOSEST_SHOWN]
        answer = Answer(
            question=asked,
            text=text if answered else NOT_FOUND_TEXT,
            answered=answered,
            citations=[citation(s) for s in shown],
            decision={"probability": round(decision.probability, 4), **decision.signals.as_dict()},
        )
        answer.latency_ms = (time.perf_counter() - started) * 1000
        metrics.STAGE_SECONDS.labels("total").observe(answer.latency_ms / 1000)
        log.info(
            "answered=%s sources=%d top=%.3f in %.0f ms",
            answered,
            len(relevant),
            max((s.score for s in sources), default=0.0),
            answer.latency_ms,
        )
        return answer

    def _generate(
        self,
        question: str,
        sources: list[RetrievedSource],
        units: list[ScoredUnit],
        on_partial: Callable[[str], None] | None,
    ) -> str:
        generator = self.generator
        if isinstance(generator, ExtractiveGenerator):
            return generator.from_ranked(units, question)
        if on_partial is None or not generator.streams:
            text = generator.generate(question, sources)
        else:
            valid = {s.n for s in sources}
            written = ""
            for piece in generator.stream(question, sources):
                written += piece
                shown = keep_valid_citations(written, valid)
                if piece and shown:
                    on_partial(shown)
            text = generator.finish(written, sources)
        if declines(text):
            return text  # "the passages don't say": the caller turns it into the not-in-the-docs reply
        problem = degenerate(text, sources)
        if problem is None:
            return text
        # A looping or unsupported model answer is never posted: the quoted units say the same safely.
        metrics.DEGENERATE_ANSWERS.labels(problem).inc()
        log.warning("the %s generator's answer was %s; answering with quotes instead", generator.name, problem)
        return render_units(select_units(units, self.settings.generator.max_sentences, content_terms(question)))

    def decision_signals(self, question: str) -> Signals:
        """What the answer-or-refuse decision reads for ``question`` over the whole index, computed
        as :meth:`ask` computes it (calibration and the fitting bench ask this)."""
        in_corpus = self._keyword_check(None, None)
        question = self._spelt_out(question, in_corpus)
        vector = self.embedder.embed_query(question)
        sources = self.retriever.retrieve(question, self.settings.retrieval.k, vector=vector)
        return signals_for(question, sources, self.ranker.rank(question, sources, query=vector), in_corpus)

    def _anchors_key(self) -> str:
        """What the decision's signals depend on besides the index: anchors measured under another
        query encoder, precision or retrieval setting are measured again."""
        meta, retrieval = self.store.meta(), self.settings.retrieval
        return (
            f"{meta.get('query_encoder') or 'base'}|{meta.get('embedding_precision', 'fp32')}|k={retrieval.k}"
            f"|{retrieval.fusion}:{retrieval.keyword_weight}|shorthand={retrieval.expand_shorthand}"
        )

    def _spelt_out(self, question: str, in_corpus: Callable[[str], bool] | None) -> str:
        """The question as it is searched: chat shorthand spelt out as the docs write it (only where
        the docs can be asked which form they use: a hybrid index)."""
        retrieval = self.settings.retrieval
        if not retrieval.expand_shorthand or in_corpus is None:
            return question
        extra = {word: tuple(forms) for word, forms in retrieval.shorthand.items()}
        return expand_shorthand(question, in_corpus, extra)

    def _decide(
        self,
        question: str,
        names: list[str],
        sources: list[RetrievedSource],
        units: list[ScoredUnit],
        in_corpus: Callable[[str], bool] | None = None,
    ) -> Decision:
        """Answer or refuse: the learned decision over several signals, or (retrieval.answerability =
        "threshold") the old rule, any source over retrieval.min_score."""
        signals = signals_for(question, sources, units, in_corpus)
        if self.settings.retrieval.answerability == "threshold":
            answer = any(self._relevant(names, s) for s in sources)
            return Decision(answer=answer, probability=float(answer), signals=signals)
        return load_model().decide(signals, self.anchors.current())

    def _keyword_check(self, source: str | None, sets: Collection[str] | None) -> Callable[[str], bool] | None:
        """Whether a word occurs in some chunk the asker may read: one keyword search per word (a
        few ms on the embedded engine). None where the index has no keyword vectors."""
        if not self.store.hybrid:
            return None
        nowhere = np.zeros(self.embedder.dimension, dtype=np.float32)

        def in_corpus(word: str) -> bool:
            if not query_vector(word)[0]:
                return True  # no keyword to look for (a stopword): no evidence either way
            return bool(self.store.search(nowhere, 1, source=source, sets=sets, text=word, keywords_only=True))

        return in_corpus

    def _citable(self, names: list[str], sources: list[RetrievedSource]) -> list[RetrievedSource]:
        """The sources an answer may cite: the first one, when the decision says answer, and
        every other one that is relevant on its own."""
        if self.settings.retrieval.answerability == "threshold":
            return [s for s in sources if self._relevant(names, s)]
        return [s for i, s in enumerate(sources) if i == 0 or self._relevant(names, s)]

    @property
    def ranker(self) -> UnitRanker:
        """Scores answer units once per question, for the decision and the extractive answer alike."""
        if self.settings.generator.backend == "extractive":  # (a model generator is not loaded for this)
            generator = self.generator
            if isinstance(generator, ExtractiveGenerator):
                return generator.ranker  # one cache of unit vectors
        return self._part("ranker", lambda: UnitRanker(self.embedder))

    def _relevant(self, names: list[str], source: RetrievedSource) -> bool:
        """Close enough in meaning, or it contains every identifier the question names verbatim
        (``ERR_CONN_RESET``, ``os.path.join``): dense scores are low for such names even on the right page."""
        if source.score >= self.settings.retrieval.min_score:
            return True
        text = " ".join(p.text for p in source.passages).lower()
        return bool(names) and all(name.lower() in text for name in names)

    def _check_model_fits_index(self) -> None:
        if not self._model_checked:
            # Raises StoreMismatch when the index was built with another embedding model or precision.
            fit_index(self.embedder, self.store, self.embedder.dimension)
            self._model_checked = True

    def close(self) -> None:
        """Close everything this core opened (the generator's HTTP client, the store); safe to call twice."""
        self.anchors.close()  # a background measurement reads the store: it stops first
        with self._lock:
            parts, self._parts = self._parts, {}
        for name in ("generator", "store"):
            part = parts.get(name)
            close = getattr(part, "close", None)
            if close is None:
                continue
            try:
                close()
            except Exception as exc:  # closing the rest matters more than this one failure
                log.warning("closing the %s failed: %s", name, exc)
