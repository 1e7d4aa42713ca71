"""The retriever's training objective, per example, over one batch's candidate chunks.

p(z|x) = softmax(scale * q(x).d(z)) over the batch's candidates: every pair's positives (so
each question's positives are the others' in-batch negatives), its mined hard negatives and its
👎 chunks. Two terms:

* contrastive: -log sum_{z in positives} p(z|x); for a question with only 👎 chunks,
  -log(1 - sum_{z in 👎} p(z|x)) (push away, nothing to pull towards);
* marginal likelihood (RAG-sequence): -log sum_{z in top-k} p(z|x) p(y|x,z), with p(z|x)
  renormalised over the k best candidates and p(y|x,z) from the generator. The term pulls the
  retriever towards passages the generator can answer from, not just towards labelled ones.
"""

from __future__ import annotations

import torch

__all__ = ["contrastive_loss", "marginal_likelihood_loss", "MASKED"]

# Masked entries get this instead of -inf: exp() of it is 0 all the same, and an example with
# nothing to sum keeps finite gradients (-inf - -inf would turn the whole batch's gradient NaN).
MASKED = -1e4


def contrastive_loss(
    logits: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, valid: torch.Tensor
) -> torch.Tensor:
    """Per-example loss (B,); 0 for an example with neither positives nor 👎 chunks.

    ``logits`` (B, C); ``positive``, ``negative`` (explicit 👎), ``valid`` (B, C) booleans. Invalid
    candidates (other chunks of a positive's own document) take no part in the softmax."""
    log_norm = torch.logsumexp(logits.masked_fill(~valid, MASKED), dim=1)
    has_positive = positive.any(dim=1)
    log_positive = torch.logsumexp(logits.masked_fill(~positive, MASKED), dim=1)
    pull = torch.where(has_positive, log_norm - log_positive, torch.zeros_like(log_norm))
    only_negative = negative.any(dim=1) & ~has_positive
    log_negative = torch.logsumexp(logits.masked_fill(~negative, MASKED), dim=1) - log_norm
    # -log(1 - p): stable for p near 0 and clamped for p near 1.
    push = -torch.log1p(-torch.exp(log_negative.clamp(max=-1e-4)))
    return torch.where(only_negative, push, pull)


def marginal_likelihood_loss(
    logits: torch.Tensor, valid: torch.Tensor, answer_logp: torch.Tensor, top_k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-example -log sum_{z in top-k} p(z|x) p(y|x,z), and which examples have the term: those
    where some top-k passage can produce y (``answer_logp`` is MASKED where z can't)."""
    masked = logits.masked_fill(~valid, MASKED)
    k = min(top_k, logits.shape[1])
    top_logits, top = masked.topk(k, dim=1)
    log_pz = torch.log_softmax(top_logits, dim=1)
    answer_top = answer_logp.gather(1, top)
    defined = ((answer_top > MASKED / 2) & (top_logits > MASKED / 2)).any(dim=1)
    total = torch.logsumexp(log_pz + answer_top, dim=1)
    return torch.where(defined, -total, torch.zeros_like(total)), defined
