"""How long LoRA steps on Gemma 3 270M take on this CPU (`ragbot train --generator`, issue 13).

Builds the generator examples `ragbot train` builds (QA questions, the passages the retriever
finds, the answer unit), trains ``--steps`` LoRA steps (batch 1, the marginal-likelihood loss
of bot/train/generator.py) and prints seconds per step and the held-out loss per answer token
before and after.

  .venv/bin/python bench/train_generator.py --config ragbot.toml --qa samples/eval.jsonl --steps 20
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, required=True, help="a config whose index is built")
    parser.add_argument("--qa", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from bot.app.build import build_core
    from bot.app.settings import load_settings
    from bot.generate.transformers_lm import TransformersGenerator
    from bot.train.corpus import load_corpus
    from bot.train.generator import GeneratorExample, train_lora
    from bot.train.qa import load_qa, qa_pairs

    settings = load_settings(args.config)
    with build_core(settings) as app:
        corpus = load_corpus(app.store)
        pairs = [p for p in qa_pairs(load_qa(args.qa), corpus) if p.answer]
        examples = []
        for pair in pairs:
            sources = app.core.retriever.retrieve(pair.query, settings.retrieval.k)
            weights = torch.softmax(torch.tensor([20.0 * s.score for s in sources]), 0).tolist()
            examples.append(GeneratorExample(pair.query, sources, weights, pair.answer))
    started = time.monotonic()
    lm = TransformersGenerator(settings.generator, settings.data_dir / "models").loaded_model()
    loaded = time.monotonic() - started
    heldout, train = examples[: len(examples) // 4], examples[len(examples) // 4 :]
    _, outcome = train_lora(lm, train, heldout, args.steps, 2e-4, 8, 0, time.monotonic() + 7200)
    print(
        json.dumps(
            {
                "examples": {"train": len(train), "heldout": len(heldout)},
                "load_s": round(loaded, 1),
                "steps": outcome.steps,
                "train_s": round(outcome.seconds, 1),
                "s_per_step_incl_heldout_eval": round(outcome.seconds / max(outcome.steps, 1), 2),
                "heldout_loss_per_token": [round(outcome.before, 4), round(outcome.after, 4)],
            }
        )
    )


if __name__ == "__main__":
    main()
