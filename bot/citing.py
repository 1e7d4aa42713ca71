"""Turn the sources an answer may cite into what is posted: numbered 1..n in rank order, each a
Citation with a title that names its section and a snippet short enough for a chat message."""

from __future__ import annotations

from dataclasses import replace

from bot.generate.extractive import ScoredUnit
from bot.models import Citation
from bot.retriever import RetrievedSource

__all__ = ["renumbered", "citation", "SNIPPET_CHARS"]

SNIPPET_CHARS = 240


def renumbered(
    sources: list[RetrievedSource], units: list[ScoredUnit]
) -> tuple[list[RetrievedSource], list[ScoredUnit]]:
    """Number the sources an answer may cite 1..n in rank order; units of other sources go."""
    numbers = {source.n: i for i, source in enumerate(sources, start=1)}
    kept_units = [
        replace(unit, n=numbers[unit.n], order=(numbers[unit.n], *unit.order[1:]))
        for unit in units
        if unit.n in numbers
    ]
    return [replace(source, n=numbers[source.n]) for source in sources], kept_units


def citation(source: RetrievedSource) -> Citation:
    """The posted form of one source: its best passage's title, section, deep link and snippet."""
    best = source.best
    snippet = " ".join(best.text.split())
    if len(snippet) > SNIPPET_CHARS:
        snippet = snippet[: SNIPPET_CHARS - 1].rsplit(" ", 1)[0] + "…"
    title = f"{best.title} › {best.section}" if best.section else best.title
    return Citation(n=source.n, title=title, url=best.url, score=best.score, snippet=snippet)
