"""The fused, chunked output-head loss of ``extractly.tune.train`` equals plain cross-entropy
over full logits, in value and in gradient, with and without logit soft-capping."""

from __future__ import annotations

import pytest
import torch

from extractly.tune import train


@pytest.mark.parametrize("cap", [None, 30.0])
def test_fused_head_loss_matches_cross_entropy(cap: float | None) -> None:
    gen = torch.Generator().manual_seed(0)
    n, dim, vocab = 2 * train.HEAD_CHUNK + 5, 32, 1000  # three chunks, the last one partial
    weight = torch.randn(vocab, dim, generator=gen, dtype=torch.float64)
    labels = torch.randint(0, vocab, (n,), generator=gen)
    hidden = torch.randn(n, dim, generator=gen, dtype=torch.float64)

    fused_in = hidden.clone().requires_grad_(True)
    fused = train.head_loss(fused_in, weight, labels, cap)
    fused.backward()

    plain_in = hidden.clone().requires_grad_(True)
    logits = plain_in @ weight.T
    if cap:
        logits = torch.tanh(logits / cap) * cap
    plain = torch.nn.functional.cross_entropy(logits, labels)
    plain.backward()  # type: ignore[no-untyped-call]

    assert fused.item() == pytest.approx(plain.item(), rel=1e-6)
    assert fused_in.grad is not None and plain_in.grad is not None
    # the fused path takes log-sum-exp in float32 whatever the input dtype
    assert torch.allclose(fused_in.grad, plain_in.grad, rtol=1e-4, atol=1e-7)


def test_fused_head_loss_without_grad_gives_the_same_value() -> None:
    gen = torch.Generator().manual_seed(1)
    weight = torch.randn(500, 16, generator=gen)
    hidden = torch.randn(10, 16, generator=gen)
    labels = torch.randint(0, 500, (10,), generator=gen)
    with torch.no_grad():
        value = train.head_loss(hidden, weight, labels, None)
    expected = torch.nn.functional.cross_entropy(hidden @ weight.T, labels)
    assert value.item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize("cap", [None, 30.0])
def test_choice_loss_matches_cross_entropy_over_each_allowed_set(
    cap: float | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The restricted loss (softmax over each position's allowed tokens only) equals plain
    cross-entropy over those tokens' logits, in value and gradient, across several groups."""
    monkeypatch.setattr(train, "CHOICE_ROWS", 40)  # force several groups of positions
    gen = torch.Generator().manual_seed(2)
    n, dim, vocab = 9, 16, 300
    weight = torch.randn(vocab, dim, generator=gen, dtype=torch.float64)
    hidden = torch.randn(n, dim, generator=gen, dtype=torch.float64)
    choices = [
        sorted(torch.randperm(vocab, generator=gen)[: 1 + 3 * i].tolist()) for i in range(n)
    ]
    labels = [c[len(c) // 2] for c in choices]

    fused_in = hidden.clone().requires_grad_(True)
    fused = train.choice_loss(fused_in, weight, choices, labels, cap)
    fused.backward()

    plain_in = hidden.clone().requires_grad_(True)
    plain = torch.zeros((), dtype=torch.float64)
    for i, (c, y) in enumerate(zip(choices, labels, strict=True)):
        logits = plain_in[i] @ weight[c].T
        if cap:
            logits = torch.tanh(logits / cap) * cap
        plain = plain + torch.nn.functional.cross_entropy(logits[None], torch.tensor([c.index(y)]))
    plain.backward()  # type: ignore[no-untyped-call]

    assert fused.item() == pytest.approx(plain.item(), rel=1e-6)
    assert fused_in.grad is not None and plain_in.grad is not None
    assert torch.allclose(fused_in.grad, plain_in.grad, rtol=1e-4, atol=1e-7)
    # a single allowed token is a certain choice: zero loss, zero gradient
    one = hidden[:1].clone().requires_grad_(True)
    value = train.choice_loss(one, weight, [[labels[0]]], [labels[0]], cap)
    value.backward()
    assert value.item() == 0.0 and one.grad is not None and not one.grad.any()
