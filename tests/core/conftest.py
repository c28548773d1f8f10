"""Shared fixtures for the core tests: the exact denoiser of Gaussian data."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

SIGMA_DATA = 0.5


def exact_gaussian_denoise(x: Tensor, sigma: Tensor, sigma_data: float = SIGMA_DATA) -> Tensor:
    """The optimal denoiser E[y | x] for data y ~ N(0, sigma_data^2 I): x sigma_data^2 / (sigma^2 + sigma_data^2)."""
    sigma = sigma.to(x.dtype).reshape(-1, *([1] * (x.ndim - 1)))
    return x * sigma_data**2 / (sigma**2 + sigma_data**2)


@pytest.fixture
def gaussian_denoise():
    """`exact_gaussian_denoise` as a DenoiseFn (x, sigma) -> D(x; sigma) with sigma_data = SIGMA_DATA."""
    return exact_gaussian_denoise


@pytest.fixture
def generator() -> torch.Generator:
    """A freshly seeded CPU generator, so every test draws the same numbers on every run."""
    return torch.Generator().manual_seed(0)
