"""``ragbot ask``: answer one question from the indexed docs, as text or JSON."""

from __future__ import annotations

import argparse
from typing import Any

from bot.app.common import load, print_json
from bot.errors import RagbotError

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
    with build_core(settings) as app:
        answer = app.core.ask(args.question, k=args.k, source=args.source, sets=args.sets)
    if args.json:
        print_json(answer.to_json())
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
