"""Evaluate answers against a JSONL file of questions with their expected pages.

Each line: {"question": str, "expected_urls": [str], "answer_contains": [str]?, "answerable": bool?}.
A hit is a retrieved source whose URL, without its #fragment, equals an expected URL.
``cites_expected_page``: answered answerable questions whose [n] citations include an expected page.
``citation_validity``: answered questions where every [n] the generator wrote pointed at a source
(invalid ones are removed before users see them, so this measures the generator, not the output).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY

from bot.core import RagCore
from bot.errors import InputError

__all__ = ["EvalCase", "EvalResult", "load_cases", "evaluate", "summarise", "misses", "miss_kind", "question_rows"]


@dataclass(frozen=True)
class EvalCase:
    question: str
    expected_urls: tuple[str, ...]
    answer_contains: tuple[str, ...] = ()
    answerable: bool = True


@dataclass
class EvalResult:
    case: EvalCase
    answered: bool
    rank: int | None  # 1-based rank of the first expected source, None if absent
    top_score: float
    contains: bool | None
    latency_ms: float
    answer: str = ""
    urls: list[str] = field(default_factory=list)
    cited_right_page: bool | None = None  # an answered, answerable question cites an expected page
    invalid_citations: int = 0  # [n] markers the generator wrote that pointed at no source
    decision: dict[str, float] = field(default_factory=dict)  # the answer-or-refuse decision's inputs


def load_cases(path: Path) -> list[EvalCase]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            cases.append(
                EvalCase(
                    question=row["question"],
                    expected_urls=tuple(row.get("expected_urls", [])),
                    answer_contains=tuple(row.get("answer_contains", [])),
                    answerable=bool(row.get("answerable", True)),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InputError(f"{path}, line {number}: not an eval case ({exc})") from None
    if not cases:
        raise InputError(f"{path} has no questions")
    return cases


def _strip_fragment(url: str) -> str:
    return url.split("#", 1)[0]


_RANK_DEPTH = 10


def evaluate(core: RagCore, cases: list[EvalCase], k: int | None = None) -> list[EvalResult]:
    """Ranking metrics from the retriever's top 10 documents (before the relevance threshold);
    answer metrics from the full answer path, as users get it."""
    results = []
    for case in cases:
        ranked = core.retriever.retrieve(case.question, _RANK_DEPTH)
        invalid_before = _invalid_citations()
        answer = core.ask(case.question, k=k)
        urls = [_strip_fragment(source.best.url) for source in ranked]
        expected = {_strip_fragment(u) for u in case.expected_urls}
        cited = {_strip_fragment(c.url) for c in answer.citations if c.n in answer.cited()}
        rank = next((i + 1 for i, url in enumerate(urls) if url in expected), None)
        contains = None
        if case.answer_contains:
            contains = answer.answered and all(s.lower() in answer.text.lower() for s in case.answer_contains)
        results.append(
            EvalResult(
                case=case,
                answered=answer.answered,
                rank=rank,
                top_score=max((s.score for s in ranked), default=0.0),
                contains=contains,
                latency_ms=answer.latency_ms,
                answer=answer.text,
                urls=urls,
                cited_right_page=bool(cited & expected) if answer.answered and case.answerable else None,
                invalid_citations=int(_invalid_citations() - invalid_before),
                decision=answer.decision,
            )
        )
    return results


def _invalid_citations() -> float:
    return REGISTRY.get_sample_value("ragbot_invalid_citations_total") or 0.0


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summarise(results: list[EvalResult]) -> dict[str, Any]:
    answerable = [r for r in results if r.case.answerable]
    unanswerable = [r for r in results if not r.case.answerable]
    with_contains = [r for r in answerable if r.contains is not None]
    answered = [r for r in results if r.answered]
    cited = [r for r in answerable if r.cited_right_page is not None]
    latencies = [r.latency_ms for r in results]

    def rate(values: list[bool]) -> float | None:
        return round(sum(values) / len(values), 4) if values else None

    return {
        "questions": len(results),
        "hit@1": rate([r.rank == 1 for r in answerable]),
        "hit@5": rate([r.rank is not None and r.rank <= 5 for r in answerable]),
        "mrr@10": round(statistics.fmean([1 / r.rank if r.rank and r.rank <= 10 else 0.0 for r in answerable]), 4)
        if answerable
        else None,
        "answer_contains": rate([bool(r.contains) for r in with_contains]),
        "refusal_accuracy": rate([not r.answered for r in unanswerable]),
        "false_refusals": rate([not r.answered for r in answerable]),
        "cites_expected_page": rate([bool(r.cited_right_page) for r in cited]),
        "citation_validity": rate([r.invalid_citations == 0 for r in answered]),
        "latency_ms_p50": round(_percentile(latencies, 0.5), 1),
        "latency_ms_p95": round(_percentile(latencies, 0.95), 1),
    }


def misses(results: list[EvalResult]) -> list[dict[str, Any]]:
    """The questions that went wrong, each with what the answer-or-refuse decision read.

    ``false_refusal``: answerable, refused. ``answered_unanswerable``: the docs don't say, it
    answered. ``missing_fact``: answered without the expected words. ``wrong_page``: answered
    without citing an expected page."""
    out = []
    for r in results:
        kind = miss_kind(r, ranking=False)
        if kind:
            out.append(
                {
                    "question": r.case.question,
                    "miss": kind,
                    "expected_urls": list(r.case.expected_urls),
                    "expected_words": list(r.case.answer_contains),
                    "rank": r.rank,
                    "answer": r.answer if len(r.answer) <= 300 else r.answer[:299] + "…",
                    "decision": r.decision,
                }
            )
    return out


def miss_kind(r: EvalResult, ranking: bool = True) -> str | None:
    """What went wrong with one question, None if nothing: the answer's misses (see :func:`misses`),
    then, with ``ranking``, ``page_not_first`` (an expected page is retrieved, but not first) and
    ``page_not_found`` (no expected page in the top 10)."""
    if r.case.answerable and not r.answered:
        return "false_refusal"
    if not r.case.answerable and r.answered:
        return "answered_unanswerable"
    if r.contains is False:
        return "missing_fact"
    if r.cited_right_page is False:
        return "wrong_page"
    if ranking and r.case.answerable and r.case.expected_urls and r.rank != 1:
        return "page_not_found" if r.rank is None else "page_not_first"
    return None


def question_rows(results: list[EvalResult]) -> list[dict[str, Any]]:
    """One row per question, in file order: what was expected, what came back first, its score,
    and the miss (``None`` when the question went right)."""
    return [
        {
            "question": r.case.question,
            "answerable": r.case.answerable,
            "answered": r.answered,
            "miss": miss_kind(r),
            "expected_urls": list(r.case.expected_urls),
            "rank": r.rank,
            "top_url": r.urls[0] if r.urls else None,
            "top_score": round(r.top_score, 4),
            "answer_contains": r.contains,
            "cites_expected_page": r.cited_right_page,
            "latency_ms": round(r.latency_ms, 1),
        }
        for r in results
    ]
