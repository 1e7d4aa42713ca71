"""Extractive answers: quote the answer units closest to the question, with [n] citations.

Nothing is invented: every unit of the answer is copied from a cited source (a table row is
shown with its column names), and a quote that doesn't name what it is about is labelled with
its page's and section's headings (``**tomllib — Parse TOML files › Introduction**: ...``).

Units are scored in context: with their section heading, their neighbours, the question's
exact words, whether they hold the kind of specific the question asks for (a number, a time, a
command), and whether a code name in them spells out what the question says in words
(``randint`` for "random int", ``bot/names.py``).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from bot.embedder import Embedder
from bot.names import name_coverage
from bot.retriever import RetrievedSource
from bot.terms import content_terms, coverage
from bot.units import Unit, answer_units, flatten

__all__ = ["ExtractiveGenerator", "UnitRanker", "ScoredUnit", "select_units", "render_units"]

MAX_ANSWER_CHARS = 600  # short answers are read; a single list or code block may be longer
_RELATIVE_CUTOFF = 0.85  # further units must score within 85% of the best one
_LEXICAL_WEIGHT = 0.15  # exact words of the question (names, error codes, weekdays) count too
_NEIGHBOUR_WEIGHT = 0.15  # a unit next to a close match is read in its context
_SPECIFIC_WEIGHT = 0.06  # the question asks "how much" and the unit holds a number
_NAME_WEIGHT = 0.2  # question words a code name in the unit spells ("random int": randint); 0.1-0.3 tie on tuning
_RANK_PRIOR = 0.02  # per source rank: the retriever saw the whole chunk in context
_UNIT_SOURCES = 3  # units are read from the first sources only: the answer is there or nowhere
_CACHE_SIZE = 4096  # unit vectors kept between questions
_MIN_UNIT_CHARS = 12  # shorter units are not quoted alone

_ASKS_QUANTITY = re.compile(
    r"\b(how (?:much|many|long|often|soon|big|old|far)|when|what time|deadline|limit|budget|cost|price|"
    r"percent(?:age)?|max(?:imum)?|min(?:imum)?|cap|days?|weeks?|hours?|minutes?|per (?:day|night|year|month))\b",
    re.I,
)
_HAS_QUANTITY = re.compile(r"\d")
_ASKS_COMMAND = re.compile(r"\b(command|run|install|cli|syntax|script|flag|option|shell|terminal|type)\b", re.I)
_HAS_COMMAND = re.compile(r"```|`[^`]+`")


@dataclass(frozen=True)
class ScoredUnit:
    n: int  # the source it is quoted from
    order: tuple[int, int, int]  # source rank, passage in document order, unit position
    unit: Unit
    score: float
    place: str = ""  # "Page title > Section": where the unit is quoted from


class UnitRanker:
    """Scores the answer units of the retrieved sources against a question."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def rank(
        self, question: str, sources: Sequence[RetrievedSource], query: np.ndarray | None = None
    ) -> list[ScoredUnit]:
        """All candidate units, best first; ``query``: the question's vector, if the caller has it."""
        candidates: list[tuple[int, tuple[int, int, int], Unit, str]] = []
        places: list[str] = []
        for source in sources[:_UNIT_SOURCES]:
            for p_rank, passage in enumerate(source.reading):
                heading = passage.section.split(" > ")[-1] if passage.section else passage.title
                for unit in answer_units(passage.text):
                    if len(unit.text) < _MIN_UNIT_CHARS and not unit.multiline:
                        continue  # "See below." says nothing on its own
                    candidates.append(
                        (source.n, (source.n, p_rank, unit.position), unit, f"{heading}: {flatten(unit.text)}")
                    )
                    places.append(_place(passage.title, passage.section))
        if not candidates:
            return []
        if query is None:
            query = self.embedder.embed_query(question)
        similarity = self._vectors([c[3] for c in candidates]) @ query
        neighbour = _neighbour_similarity(candidates, similarity)
        terms = content_terms(question)
        overlap = np.array([coverage(terms, c[3]) for c in candidates])
        specific = np.array([_specific_bonus(question, c[2].text) for c in candidates])
        named = np.array([name_coverage(terms, c[2].text) for c in candidates])
        prior = np.array([-_RANK_PRIOR * (c[0] - 1) for c in candidates])
        scores = (
            similarity
            + _NEIGHBOUR_WEIGHT * neighbour
            + _LEXICAL_WEIGHT * overlap
            + _SPECIFIC_WEIGHT * specific
            + _NAME_WEIGHT * named
            + prior
        )
        ranked = [
            ScoredUnit(n, order, unit, float(score), place)
            for (n, order, unit, _), score, place in zip(candidates, scores, places)
        ]
        return sorted(ranked, key=lambda s: -s.score)

    def _vectors(self, texts: list[str]) -> np.ndarray:
        """Unit vectors, cached: the same passages come back for related questions. Questions are
        answered on several threads at once, so the cache is read and written under a lock and
        each call keeps its own copy of the vectors it uses."""
        with self._lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
            for text in found:
                self._cache.move_to_end(text)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = dict(zip(missing, self.embedder.embed(missing)))
            found.update(fresh)
            with self._lock:
                self._cache.update(fresh)
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        return np.stack([found[t] for t in texts])


def select_units(ranked: list[ScoredUnit], max_units: int = 3, terms: set[str] | None = None) -> list[ScoredUnit]:
    """The best unit, then close runners-up while the answer stays short; in document order."""
    if not ranked:
        return []
    best = ranked[0]
    picked = [best]
    size = len(best.unit.text)
    seen = {best.unit.text.lower()}
    if not (best.unit.multiline and size > MAX_ANSWER_CHARS // 2):
        for candidate in ranked[1:]:
            if len(picked) >= max_units or candidate.score < best.score * _RELATIVE_CUTOFF:
                break
            text = candidate.unit.text.lower()
            if text in seen or size + len(text) > MAX_ANSWER_CHARS:
                continue
            seen.add(text)
            picked.append(candidate)
            size += len(text)
    if terms and len(picked) < max_units:
        picked.extend(_completing(ranked, picked, terms, MAX_ANSWER_CHARS - size))
    return sorted(picked, key=lambda s: s.order)


def _completing(ranked: list[ScoredUnit], picked: list[ScoredUnit], terms: set[str], room: int) -> list[ScoredUnit]:
    """The sentence right after the best unit, when it names what the question asks and the answer
    does not yet: "Production deploys are allowed Monday to Thursday." is completed by "Friday
    deploys need approval from the on-call lead." for a question about Friday, though that sentence
    alone scores lower (it says less about deploy windows in general)."""
    best = picked[0]
    said = " ".join(u.unit.text for u in picked)
    missing = {t for t in terms if not coverage({t}, said)}
    for candidate in ranked:
        same_place = candidate.order[:2] == best.order[:2] and candidate.order[2] == best.order[2] + 1
        if same_place and candidate not in picked and len(candidate.unit.text) <= room:
            if any(coverage({t}, candidate.unit.text) for t in missing):
                return [candidate]
            return []
    return []


def render_units(picked: list[ScoredUnit]) -> str:
    """Consecutive units of one source share one [n]; lists and code blocks keep their lines.

    The marker goes at the end of a run's last prose line (a lead-in's line for a block), never
    after a closing fence, where chat clients would show it inside or under the code."""
    runs: list[list[ScoredUnit]] = []
    for unit in picked:
        if runs and runs[-1][-1].n == unit.n:
            runs[-1].append(unit)
        else:
            runs.append([unit])
    rendered = [_render_run(run) for run in runs]
    joiner = "\n" if any("\n" in text for text in rendered) else " "
    return joiner.join(rendered)


def _render_run(run: list[ScoredUnit]) -> str:
    n = run[0].n
    texts = [u.unit.text if u.unit.multiline or u.unit.text[-1] in ".!?:" else u.unit.text + "." for u in run]
    label = _label(run[0].place, " ".join(texts))
    if label:
        # a unit that starts with a code fence, a list item or a table row keeps it at a line start
        starts_block = texts[0].lstrip().startswith(("```", "~~~", "- ", "* ", "|")) or bool(
            re.match(r"\s*\d+[.)] ", texts[0])
        )
        texts[0] = f"{label}:\n{texts[0]}" if starts_block else f"{label}: {texts[0]}"
    if not any("\n" in text for text in texts):
        return f"{' '.join(texts)} [{n}]"
    lines = "\n".join(texts).split("\n")
    in_fence = False
    prose = None
    for i, line in enumerate(lines):
        if line.strip().startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        if not in_fence and line.strip():
            prose = i
    if prose is None:
        return "\n".join(lines + [f"[{n}]"])
    lines[prose] = f"{lines[prose]} [{n}]"
    return "\n".join(lines)


class ExtractiveGenerator:
    name = "extractive"
    streams = False  # quoting takes milliseconds: nothing to show before the whole answer

    def __init__(self, embedder: Embedder, ranker: UnitRanker | None = None, max_units: int = 3) -> None:
        self.embedder = embedder
        self.ranker = ranker or UnitRanker(embedder)
        self.max_units = max_units  # generator.max_sentences in the config: units quoted at most

    def generate(self, question: str, sources: list[RetrievedSource]) -> str:
        return self.from_ranked(self.ranker.rank(question, sources), question)

    def from_ranked(self, ranked: list[ScoredUnit], question: str = "") -> str:
        """The answer from units already scored (the core scores them once per question)."""
        return render_units(select_units(ranked, self.max_units, content_terms(question)))

    def stream(self, question: str, sources: list[RetrievedSource]) -> Iterator[str]:
        yield self.generate(question, sources)

    def finish(self, text: str, sources: list[RetrievedSource]) -> str:
        return text


def _place(title: str, section: str) -> str:
    """ "Page title > Section" (the section's own heading only: the page title already says the rest)."""
    leaf = section.split(" > ")[-1] if section else ""
    return " > ".join(part for part in (title, leaf if leaf != title else "") if part)


def _subject(title: str) -> str:
    """What a page is about: "tomllib" of "tomllib — Parse TOML files", the whole of "Deploys"."""
    for mark in (" — ", " - ", ": "):
        if mark in title:
            return title.split(mark)[0].strip()
    return title.strip()


def _label(place: str, text: str) -> str:
    """The "**Page › Section**" a quote is labelled with, or "" when the quote names its page's subject.

    An API page's units rarely repeat what they are about: "This module provides an interface for
    parsing TOML" never says ``tomllib``, and a reader of the reply, not of its source list, is left
    asking which module. The label is the page's and section's own headings, quoted verbatim."""
    title = place.partition(" > ")[0]
    subject = content_terms(_subject(title))
    if not place or (subject and coverage(subject, text) >= 0.5):
        return ""  # whole words: "os" is not named by "those", "Deploying to production" is by "deploys"
    label = place.replace(" > ", " › ")
    if any(mark in label for mark in "*_`~|"):
        return label  # "__main__", "**kwargs": bold would garble them on Slack and Discord
    return f"**{label}**"


def _specific_bonus(question: str, unit: str) -> float:
    """1 when the question asks for a quantity or a command and the unit holds one."""
    bonus = 0.0
    if _ASKS_QUANTITY.search(question) and _HAS_QUANTITY.search(unit):
        bonus += 1.0
    if _ASKS_COMMAND.search(question) and _HAS_COMMAND.search(unit):
        bonus += 1.0
    return bonus


def _neighbour_similarity(
    candidates: list[tuple[int, tuple[int, int, int], Unit, str]], similarity: np.ndarray
) -> np.ndarray:
    """The better similarity of a unit's two neighbours in the same passage (0 at the edges)."""
    out = np.zeros(len(candidates))
    for i, (_, order, _, _) in enumerate(candidates):
        near = [
            float(similarity[j])
            for j in (i - 1, i + 1)
            if 0 <= j < len(candidates) and candidates[j][1][:2] == order[:2]
        ]
        out[i] = max(near, default=0.0)
    return out
