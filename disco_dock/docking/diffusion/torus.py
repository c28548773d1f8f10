"""The wrapped normal distribution on the circle, for torsion angles.

p(x) = sum_k N(x + 2 pi k; 0, sigma^2) on [-pi, pi), summed over `PERIODS` images either side
(enough for sigma up to 5 rad); its score is d/dx log p. Everything is computed in closed
form except E|score|^2, which is tabulated once over sigma (tens of milliseconds) and interpolated.
"""

from __future__ import annotations

import functools
import math

import torch

from disco_dock.docking.diffusion._common import floating_dtype, interpolate, log_grid_position

PERIODS = 10
"""Images of the normal density summed on each side of the circle."""
SIGMA_MIN, SIGMA_MAX, NUM_SIGMA = 1e-3, 5.0, 1000
"""The tabulated sigma grid of `wrapped_normal_score_norm_sq` (log-spaced)."""


def wrap_angle(x: torch.Tensor) -> torch.Tensor:
    """Angles wrapped into [-pi, pi)."""
    return torch.remainder(x + math.pi, 2 * math.pi) - math.pi


def _image_log_weights(x: torch.Tensor, sigma: torch.Tensor | float) -> tuple[torch.Tensor, torch.Tensor]:
    """The unwrapped images x + 2 pi k of wrapped `x` (..., 2 PERIODS + 1) and their log normal weights."""
    x = torch.as_tensor(x)
    x, sigma = torch.broadcast_tensors(x, torch.as_tensor(sigma, dtype=x.dtype, device=x.device))
    shifts = 2 * math.pi * torch.arange(-PERIODS, PERIODS + 1, dtype=x.dtype, device=x.device)
    images = wrap_angle(x)[..., None] + shifts
    return images, -(images**2) / (2 * sigma[..., None] ** 2)


def wrapped_normal_log_density(x: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
    """log p(x) of the wrapped normal with scale `sigma` (broadcast with `x`), w.r.t. dx on the circle."""
    _, log_weights = _image_log_weights(x, sigma)
    sigma = torch.as_tensor(sigma, dtype=log_weights.dtype)
    return torch.logsumexp(log_weights, dim=-1) - torch.log(sigma * math.sqrt(2 * math.pi))


def wrapped_normal_score(x: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
    """Score d/dx log p(x) of the wrapped normal with scale `sigma` (broadcast with `x`)."""
    images, log_weights = _image_log_weights(x, sigma)
    sigma = torch.as_tensor(sigma, dtype=images.dtype)
    return -(images * torch.softmax(log_weights, dim=-1)).sum(-1) / sigma**2


def sample_wrapped_normal(sigma: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Samples in [-pi, pi) of the wrapped normal, one per element of `sigma`."""
    sigma = torch.as_tensor(sigma)
    noise = torch.randn(sigma.shape, generator=generator, dtype=floating_dtype(sigma), device=sigma.device)
    return wrap_angle(sigma * noise)


@functools.lru_cache(maxsize=1)
def _score_norm_table() -> torch.Tensor:
    """log(sigma^2 E|score|^2) on the sigma grid, by quadrature over the unwrapped normal."""
    sigma = torch.logspace(math.log10(SIGMA_MIN), math.log10(SIGMA_MAX), NUM_SIGMA, dtype=torch.float64)
    u = torch.linspace(-9, 9, 241, dtype=torch.float64)  # standard normal nodes: x = sigma * u
    weights = torch.exp(-(u**2) / 2) / math.sqrt(2 * math.pi)
    score = wrapped_normal_score(sigma[:, None] * u, sigma[:, None])
    expected = torch.trapezoid(weights * score**2, u, dim=-1)
    return (sigma**2 * expected).log()


def wrapped_normal_score_norm_sq(sigma: torch.Tensor) -> torch.Tensor:
    """Expected squared score E|score|^2 under the wrapped normal, for loss normalisation.

    Interpolated (as log(sigma^2 E|score|^2) against log sigma) in a table over sigma in
    [1e-3, 5] rad; outside it sigma^2 E|score|^2 is held at the end values: 1 below (exact in
    the limit), 7e-10 above (the density is then uniform to 1e-5).
    """
    sigma = torch.as_tensor(sigma)
    table = _score_norm_table().to(sigma.device)
    lower, fraction = log_grid_position(sigma.to(torch.float64), SIGMA_MIN, SIGMA_MAX, NUM_SIGMA)
    return (interpolate(table, lower, fraction).exp() / sigma.to(torch.float64) ** 2).to(floating_dtype(sigma))
