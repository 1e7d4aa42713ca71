"""All the pairs of one run, split into training and held-out.

The split is fixed by the seed: a QA or feedback question is held out by a hash of its text,
and a document's pseudo-queries by a hash of its id, so a document's own headings never leak
into training while its questions are used to judge the result.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from dataclasses import dataclass, field

from bot.chatstate import FeedbackRecord
from bot.train.config import TrainingConfig
from bot.train.corpus import Corpus
from bot.train.pairs import CORPUS_METHODS, Pair, corpus_pairs, feedback_pairs, stable_fraction
from bot.train.qa import QaLine, qa_pairs

__all__ = ["Dataset", "build_dataset", "SOURCE_OF"]

log = logging.getLogger(__name__)

SOURCE_OF = {**{m: "corpus" for m in CORPUS_METHODS}, "feedback": "feedback", "qa": "qa"}


@dataclass
class Dataset:
    train: list[Pair]
    heldout: list[Pair]
    made: Counter[str] = field(default_factory=Counter)  # pairs made per method (origin), before sampling

    def counts(self) -> dict[str, int]:
        """Pairs per place (corpus, feedback, qa): what the run learnt from and was judged on."""
        out = {"corpus": 0, "feedback": 0, "qa": 0}
        for pair in self.train + self.heldout:
            out[SOURCE_OF[pair.origin]] += 1
        return out

    def by_method(self) -> dict[str, dict[str, int]]:
        train: Counter[str] = Counter(p.origin for p in self.train)
        heldout: Counter[str] = Counter(p.origin for p in self.heldout)
        return {
            origin: {"made": self.made[origin], "train": train[origin], "heldout": heldout[origin]}
            for origin in sorted(set(self.made) | set(train) | set(heldout))
        }


def build_dataset(
    corpus: Corpus,
    config: TrainingConfig,
    seed: int,
    qa: list[QaLine],
    feedback: list[FeedbackRecord],
    not_found_text: str,
    use_corpus: bool,
    extra_corpus: list[Pair] | None = None,
) -> Dataset:
    """Pairs from the corpus (``extra_corpus``: model-written ones), feedback and QA lines, split."""
    made: Counter[str] = Counter()
    labelled = feedback_pairs(feedback, corpus, not_found_text) + qa_pairs(qa, corpus)
    pseudo = (corpus_pairs(corpus, seed, config.corpus_methods) + list(extra_corpus or [])) if use_corpus else []
    pseudo = _unique_queries(pseudo)
    made.update(p.origin for p in labelled + pseudo)

    def held(pair: Pair) -> bool:
        return stable_fraction(seed, pair.group) < config.heldout_fraction

    # A 👎 alone can't be scored (no right page is known): it only ever trains.
    heldout_labelled = [p for p in labelled if held(p) and (p.positives or not p.answerable)]
    train_labelled = [p for p in labelled if p not in heldout_labelled and (p.positives or p.negatives)]
    heldout_pseudo = [p for p in pseudo if held(p)]
    train_pseudo = [p for p in pseudo if not held(p)]
    rng = random.Random(seed)
    train_pseudo = _balanced_sample(train_pseudo, config.corpus_pairs, rng)
    room = max(0, config.heldout_max - len(heldout_labelled))
    if len(heldout_pseudo) > room:
        heldout_pseudo = rng.sample(heldout_pseudo, room)
    heldout = heldout_labelled[: config.heldout_max] + heldout_pseudo
    return Dataset(train=train_labelled + train_pseudo, heldout=heldout, made=made)


def _balanced_sample(pairs: list[Pair], limit: int, rng: random.Random) -> list[Pair]:
    """At most ``limit`` pairs, shared evenly between the methods that made them: an API reference
    defines thousands of names, and its identifier questions must not crowd out the prose ones."""
    by_method: dict[str, list[Pair]] = {}
    for pair in pairs:
        by_method.setdefault(pair.origin, []).append(pair)
    chosen: list[Pair] = []
    remaining = sorted(by_method.items(), key=lambda item: len(item[1]))  # smallest first: they hand on their room
    for i, (_, group) in enumerate(remaining):
        share = (limit - len(chosen)) // (len(remaining) - i)
        chosen.extend(group if len(group) <= share else rng.sample(group, share))
    return chosen


def _unique_queries(pairs: list[Pair]) -> list[Pair]:
    """One pair per query text: two sections both called "Examples" on one page would otherwise
    teach the same question two different answers."""
    seen: set[str] = set()
    out = []
    for pair in pairs:
        key = pair.query.lower()
        if key not in seen:
            seen.add(key)
            out.append(pair)
    return out
