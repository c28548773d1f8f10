"""The exact denoiser of Gaussian data, against which the EDM sampler and metrics are checked."""

from __future__ import annotations

from torch import Tensor

SIGMA_DATA = 0.5
"""The standard deviation of the Gaussian test data."""


def exact_gaussian_denoise(x: Tensor, sigma: Tensor, sigma_data: float = SIGMA_DATA) -> Tensor:
    """The optimal denoiser E[y | x] for data y ~ N(0, sigma_data^2 I): x sigma_data^2 / (sigma^2 + sigma_data^2)."""
    sigma = sigma.to(x.dtype).reshape(-1, *([1] * (x.ndim - 1)))
    return x * sigma_data**2 / (sigma**2 + sigma_data**2)
