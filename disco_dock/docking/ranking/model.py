"""The pose ranker: a small network from a pose's features (`ranking.features`) to the log-odds
that the pose lies within 2 A of the true one. Its feature scaling is part of its weights, so a
model file holds everything it needs."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from disco_dock.core.layers import mlp
from disco_dock.docking.ranking.features import FEATURES


class PoseRanker(nn.Module):
    """Logit of "RMSD < 2 A" from the standardised features (P, len(FEATURES)) of P poses."""

    def __init__(self, hidden: int = 64, layers: int = 2):
        super().__init__()
        self.register_buffer("mean", torch.zeros(len(FEATURES)))
        self.register_buffer("std", torch.ones(len(FEATURES)))
        self.network = mlp([len(FEATURES), *[hidden] * layers, 1], activation=nn.SiLU)

    def fit_scaling(self, features: Tensor) -> None:
        """Set the standardisation from the training features (P, F): zero mean, unit spread."""
        self.mean.copy_(features.mean(dim=0))
        self.std.copy_(features.std(dim=0).clamp_min(1e-6))

    def forward(self, features: Tensor) -> Tensor:
        """(P,) logits."""
        return self.network((features.to(self.mean) - self.mean) / self.std).squeeze(-1)

    @torch.no_grad()
    def probabilities(self, features: Tensor) -> Tensor:
        """(P,) probabilities that each pose is within 2 A of the true pose."""
        return torch.sigmoid(self(features))
