"""The held-out check that decides whether a trained query encoder goes live.

Questions the run never trained on (held-out QA and feedback questions, and pseudo-queries of
held-out documents) go through the real answer path, once with the current encoder and once
with the new one: ranking from the retriever's top 10 pages (hybrid fusion included), and
answer-or-refuse from the full ``ask``. The new encoder is activated only if MRR@10 improves
and no other count (hit@1, hit@5, correct refusals, answered questions) drops by more than one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.config import Settings
from bot.core import RagCore
from bot.embedder import Embedder, QueryEncoder
from bot.train.corpus import Corpus, page_of
from bot.train.pairs import Pair

__all__ = ["HeldoutMetrics", "Judge", "evaluate_heldout", "decide"]

_RANK_DEPTH = 10
_TOLERANCE = 1  # questions a secondary count may lose


@dataclass(frozen=True)
class HeldoutMetrics:
    questions: int  # answerable held-out questions
    hits_at_1: int
    hits_at_5: int
    reciprocal_ranks: float  # sum of 1/rank within the top 10
    answered: int  # answerable questions answered (not refused)
    unanswerable: int
    refused: int  # unanswerable questions correctly refused

    def as_json(self) -> dict[str, float | None]:
        n = self.questions
        return {
            "hit@1": round(self.hits_at_1 / n, 4) if n else 0.0,
            "hit@5": round(self.hits_at_5 / n, 4) if n else 0.0,
            "mrr@10": round(self.reciprocal_ranks / n, 4) if n else 0.0,
            "refusal_accuracy": round(self.refused / self.unanswerable, 4) if self.unanswerable else None,
        }


def evaluate_heldout(
    core: RagCore, pairs: list[Pair], corpus: Corpus, progress: Callable[[int, int], None] | None = None
) -> HeldoutMetrics:
    """Ask every held-out question of ``core`` (whose embedder carries the encoder under test)."""
    hits1 = hits5 = answered = refused = unanswerable = questions = 0
    reciprocal = 0.0
    for done, pair in enumerate(pairs, start=1):
        answer = core.ask(pair.query)
        if not pair.answerable:
            unanswerable += 1
            refused += not answer.answered
        else:
            questions += 1
            answered += answer.answered
            expected = {corpus.page(row) for row in pair.positives}
            ranked = core.retriever.retrieve(pair.query, _RANK_DEPTH)
            pages = [page_of(source.best.url) for source in ranked]
            rank = next((i for i, page in enumerate(pages, start=1) if page in expected), None)
            if rank is not None:
                hits1 += rank == 1
                hits5 += rank <= 5
                reciprocal += 1 / rank
        if progress is not None:
            progress(done, len(pairs))
    return HeldoutMetrics(questions, hits1, hits5, reciprocal, answered, unanswerable, refused)


def decide(before: HeldoutMetrics, after: HeldoutMetrics) -> tuple[bool, str]:
    """(activate?, why), in words an admin can act on."""
    if before.questions == 0:
        return False, "no held-out questions to judge the new encoder by; keeping the current one"
    mrr_before, mrr_after = before.reciprocal_ranks / before.questions, after.reciprocal_ranks / after.questions
    change = f"held-out MRR@10 {mrr_before:.3f} -> {mrr_after:.3f} on {before.questions} questions"
    if mrr_after <= mrr_before + 1e-9:
        return False, f"{change}: no improvement; keeping the current encoder"
    counts = (
        ("hit@1", before.hits_at_1, after.hits_at_1),
        ("hit@5", before.hits_at_5, after.hits_at_5),
        ("correct refusals", before.refused, after.refused),
        ("answered questions", before.answered, after.answered),
    )
    for name, old, new in counts:
        if old - new > _TOLERANCE:
            return (
                False,
                f"{change}, but {name} dropped by {old - new} questions ({old} -> {new}); keeping the current encoder",
            )
    return True, f"{change}; nothing else dropped by more than one question"


class Judge:
    """Held-out evaluation through the real answer path with the extractive generator: whether
    a question is refused depends on the retriever and the decision, not on how it is phrased."""

    def __init__(self, settings: Settings) -> None:
        generator = settings.generator.model_copy(update={"backend": "extractive"})
        self.settings = settings.model_copy(update={"generator": generator})

    def core(self, core: RagCore, embedder: Embedder, encoder: QueryEncoder | None) -> RagCore:
        return RagCore(self.settings, store=core.store, embedder=embedder.with_query_encoder(encoder))

    def run(
        self,
        core: RagCore,
        embedder: Embedder,
        encoder: QueryEncoder | None,
        pairs: list[Pair],
        corpus: Corpus,
        report: Callable[[str, int, int], None],
    ) -> HeldoutMetrics:
        judge = self.core(core, embedder, encoder)
        stage = f"held-out ({encoder.name if encoder else 'base'})"
        return evaluate_heldout(judge, pairs, corpus, lambda done, total: report(stage, done, total))
