"""QA files in the ``ragbot eval`` format as training pairs.

Each line: ``{"question", "expected_urls": [...], "answer_contains"?: [...], "answerable"?: false}``.
Teams write these; the shipped eval sets are examples. A page named by a line stands for all of
its chunks (which one answers is latent), and the unit holding every ``answer_contains`` string
is the answer the generator's term scores.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from bot.errors import InputError
from bot.train.corpus import Corpus, page_of
from bot.train.pairs import Pair
from bot.units import answer_units, flatten

__all__ = ["QaLine", "load_qa", "qa_pairs"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QaLine:
    path: Path
    line: int
    question: str
    expected_urls: tuple[str, ...]
    answer_contains: tuple[str, ...]
    answerable: bool


def load_qa(path: Path) -> list[QaLine]:
    """Read a QA file; a line that isn't a QA case is an error naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the QA file ({exc})") from None
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}, line {number}: not JSON ({exc.msg})") from None
        question = row.get("question") if isinstance(row, dict) else None
        if not isinstance(question, str) or not question.strip():
            raise InputError(f'{path}, line {number}: no "question"; each line needs {{"question": ..., ...}}')
        urls = row.get("expected_urls", [])
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise InputError(f'{path}, line {number}: "expected_urls" must be a list of URLs')
        contains = row.get("answer_contains", [])
        answerable = bool(row.get("answerable", True))
        lines.append(QaLine(path, number, question.strip(), tuple(urls), tuple(map(str, contains)), answerable))
    if not lines:
        raise InputError(f"{path}: no questions in the QA file")
    return lines


def qa_pairs(lines: list[QaLine], corpus: Corpus) -> list[Pair]:
    """QA lines as pairs; a URL that is not in the index is warned about (file and line) and skipped."""
    pairs = []
    for qa in lines:
        group = f"q:{qa.question.lower()}"
        if not qa.answerable:
            pairs.append(Pair(qa.question, (), "qa", group, answerable=False))
            continue
        rows: list[int] = []
        for url in qa.expected_urls:
            found = corpus.by_page.get(page_of(url), [])
            if not found:
                log.warning("%s, line %d: %s is not in the index; skipped", qa.path, qa.line, url)
            rows.extend(found)
        if not rows:
            continue
        pairs.append(Pair(qa.question, tuple(rows), "qa", group, answer=_answer_unit(qa, rows, corpus)))
    return pairs


def _answer_unit(qa: QaLine, rows: list[int], corpus: Corpus) -> str:
    """The unit of an expected page that holds every ``answer_contains`` string: what the answer quotes."""
    if not qa.answer_contains:
        return ""
    wanted = [s.lower() for s in qa.answer_contains]
    for row in rows:
        for unit in answer_units(corpus.passages[row].text):
            text = flatten(unit.text)
            if all(s in text.lower() for s in wanted):
                return text
    return ""
