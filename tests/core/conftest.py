"""Fixtures of the core tests: the exact denoiser of Gaussian data and a seeded generator."""

from __future__ import annotations

import pytest
import torch

from tests.support.denoisers import exact_gaussian_denoise


@pytest.fixture
def gaussian_denoise():
    """`exact_gaussian_denoise` as a DenoiseFn (x, sigma) -> D(x; sigma) with sigma_data = SIGMA_DATA."""
    return exact_gaussian_denoise


@pytest.fixture
def generator() -> torch.Generator:
    """A freshly seeded CPU generator, so every test draws the same numbers on every run."""
    return torch.Generator().manual_seed(0)
