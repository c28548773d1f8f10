"""A few Adam steps on a loss, for the tests that check that a network can learn."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch


def adam_steps(parameters: Iterable[torch.nn.Parameter], loss: Callable[[], torch.Tensor], steps: int, lr: float) -> list[float]:
    """Minimise `loss()` with Adam at learning rate `lr` for `steps` steps; the loss before each step."""
    optimizer = torch.optim.Adam(parameters, lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        value = loss()
        value.backward()
        optimizer.step()
        losses.append(value.item())
    return losses
