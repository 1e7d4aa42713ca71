"""The training objective on real tensors: what each term rewards, and that a batch mixing
questions with and without positives or answers still trains (finite gradients)."""

from __future__ import annotations

import torch

from bot.train.loss import contrastive_loss, marginal_likelihood_loss


def _logits(*rows: list[float]) -> torch.Tensor:
    return torch.tensor(rows, requires_grad=True)


def test_a_question_ranking_its_positive_higher_costs_less() -> None:
    positive = torch.tensor([[True, False, False]] * 2)
    none = torch.zeros_like(positive)
    valid = torch.ones_like(positive)

    loss = contrastive_loss(_logits([9.0, 1.0, 1.0], [1.0, 9.0, 1.0]), positive, none, valid)

    assert loss[0] < loss[1]


def test_a_thumbs_down_alone_pushes_away_and_other_chunks_of_its_page_do_not_count() -> None:
    logits = _logits([5.0, 5.0, 0.0], [0.0, 0.0, 0.0])
    positive = torch.tensor([[False, False, False], [True, False, False]])
    negative = torch.tensor([[True, False, False], [False, False, False]])
    valid = torch.tensor([[True, True, True], [True, False, True]])  # row 1: chunk 1 shares the positive's page

    loss = contrastive_loss(logits, positive, negative, valid)
    loss.sum().backward()

    assert torch.isfinite(logits.grad).all()
    assert logits.grad[0, 0] > 0  # descending the loss lowers the 👎 chunk's score
    assert logits.grad[1, 1] == 0  # the same page's other chunk is neither right nor wrong
    assert loss[1] == torch.log(torch.tensor(2.0))  # softmax over the positive and chunk 2 only


def test_marginal_likelihood_prefers_the_passage_that_can_produce_the_answer() -> None:
    masked = -1e4
    valid = torch.ones(3, 3, dtype=torch.bool)
    answer = torch.tensor([[-0.1, masked, masked], [-0.1, masked, masked], [masked, masked, masked]])
    logits = _logits([5.0, 0.0, 0.0], [0.0, 5.0, 0.0], [1.0, 2.0, 3.0])

    loss, defined = marginal_likelihood_loss(logits, valid, answer, top_k=2)
    (loss.sum() / defined.sum()).backward()

    assert defined.tolist() == [True, True, False]  # question 3: no passage can produce its answer
    assert loss[0] < loss[1]
    assert torch.isfinite(logits.grad).all() and (logits.grad[2] == 0).all()
