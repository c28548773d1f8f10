"""Small building blocks shared by every backend: an MLP and a sinusoidal embedding of a scalar."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn


def mlp(sizes: Sequence[int], dropout: float = 0.0, activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """Linear layers with ``activation`` (and dropout) between them, none after the last."""
    layers: list[nn.Module] = []
    for i, (size_in, size_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i:
            layers += [activation(), nn.Dropout(dropout)] if dropout else [activation()]
        layers.append(nn.Linear(size_in, size_out))
    return nn.Sequential(*layers)


class SinusoidalEmbedding(nn.Module):
    """Cosines and sines of a scalar at ``dim // 2`` geometrically spaced periods from
    ``min_period`` to ``max_period``: (...,) -> (..., dim). The periods are not saved in checkpoints."""

    def __init__(self, dim: int, min_period: float, max_period: float):
        super().__init__()
        periods = torch.logspace(math.log10(min_period), math.log10(max_period), dim // 2)
        self.register_buffer("frequencies", 2 * math.pi / periods, persistent=False)

    def forward(self, value: Tensor) -> Tensor:
        angles = value.unsqueeze(-1) * self.frequencies.to(value.dtype)
        return torch.cat([angles.cos(), angles.sin()], dim=-1)
