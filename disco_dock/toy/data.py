"""The 8-Gaussian mixture of the DisCo-Diff paper's toy study (appendix F.2)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

NUM_MODES = 8
RADIUS = 3.0
MODE_STD = 0.2


def mode_means() -> Tensor:
    """The 8 means, evenly spaced on a circle of radius 3 (the appendix's mu_7 sign typo corrected)."""
    angles = torch.arange(NUM_MODES, dtype=torch.float64) * (2 * math.pi / NUM_MODES)
    return RADIUS * torch.stack([angles.cos(), angles.sin()], dim=1)


def sample_mixture(num_points: int, generator: torch.Generator | None = None, stratified: bool = False):
    """Draw points (N, 2) and their modes (N,): modes uniformly at random, or exactly N/8 each if stratified."""
    if stratified:
        if num_points % NUM_MODES:
            raise ValueError(f"a stratified sample needs a multiple of {NUM_MODES} points")
        modes = torch.arange(NUM_MODES).repeat_interleave(num_points // NUM_MODES)
    else:
        modes = torch.randint(NUM_MODES, (num_points,), generator=generator)
    noise = torch.randn(len(modes), 2, dtype=torch.float64, generator=generator)
    return (mode_means()[modes] + MODE_STD * noise).float(), modes


def nearest_mode(points: Tensor) -> Tensor:
    """Index of the closest mixture mean for each point (N, 2) -> (N,)."""
    return torch.cdist(points.double(), mode_means()).argmin(dim=1)
