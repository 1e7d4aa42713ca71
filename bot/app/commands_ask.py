"""``ragbot ask``: answer one question from the indexed docs, as text or JSON."""

from __future__ import annotations

import argparse
import time
from typing import Any

from bot.app.common import load, print_json
from bot.errors import InputError, RagbotError

__all__ = ["register", "run"]


def register(commands: Any) -> None:
    ask = commands.add_parser("ask", help="answer a question from the indexed docs")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--k", type=int, help="how many source documents to retrieve")
    ask.add_argument("--source", metavar="NAME", help="search only this source")
    ask.add_argument("--set", action="append", dest="sets", metavar="SET", help="search only these document sets")
    ask.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from bot.app.build import build_core
    from bot.core import validate_question

    settings = load(args)
    validate_question(args.question, settings.limits.max_question_chars)  # fail before loading models
    if args.k is not None and not 1 <= args.k <= 50:
        raise RagbotError("--k must be between 1 and 50")
    _check_sets(settings, args.sets)
    with build_core(settings) as app:
        started = time.perf_counter()
        app.core.load_models()  # now, so that the answer's latency is the question's own
        load_ms = (time.perf_counter() - started) * 1000
        answer = app.core.ask(args.question, k=args.k, source=args.source, sets=args.sets)
    if args.json:
        print_json({**answer.to_json(), "load_ms": round(load_ms, 1)})
        return 0
    print(answer.text)
    cited = answer.cited()
    groups = (
        [
            ("Sources:", [c for c in answer.citations if c.n in cited]),
            ("Related:", [c for c in answer.citations if c.n not in cited]),
        ]
        if answer.answered
        else [("Closest sources:", answer.citations)]
    )
    for heading, citations in groups:
        if citations:
            print(f"\n{heading}")
            for c in citations:
                print(f"  [{c.n}] {c.title} - {c.url}")
    return 0


def _check_sets(settings: Any, sets: list[str] | None) -> None:
    """InputError for a --set that no configured source belongs to: the search would find nothing
    and answer "not in the docs", which reads as if the docs were silent on the question."""
    existing = sorted(
        {name for s in settings.sources for name in s.sets}
        | {name for s in settings.sources for names in getattr(s, "space_sets", {}).values() for name in names}
    )
    unknown = [name for name in sets or [] if name not in existing]
    if unknown:
        raise InputError(
            f"--set {unknown[0]}: no source is in a set named {unknown[0]!r}; the sets are: {_listed(existing)} "
            "(each source's `sets` in the config)"
        )


def _listed(names: list[str]) -> str:
    return ", ".join(names) if names else "none (add [[sources]] to the config)"
