"""Metrics of the DisCo-Diff paper: ODE curvature, denoiser Jacobian norm (appendix F.3), exact W2.

Both trajectory metrics use the EDM probability-flow ODE with sigma(t) = t, whose velocity is
v(x, t) = (x - D(x; t)) / t, and finite differences with step dt = 0.001:
- curvature at (x, t): ||d^2x/dt^2|| ~ ||v(x + dt v(x, t), t + dt) - v(x, t)|| / dt;
- Jacobian norm at (x, t): ||dD(x; t)/dx||_F^2 with central differences along each input
  coordinate (exact in low dimension) or along random Gaussian probes (unbiased estimate).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from disco_dock.core.edm import DenoiseFn

FINITE_DIFFERENCE_STEP = 1e-3


def _velocity(denoise: DenoiseFn, x: Tensor, t: float) -> Tensor:
    sigma = torch.full((x.shape[0],), t, dtype=x.dtype, device=x.device)
    return (x - denoise(x, sigma)) / t


@torch.no_grad()
def ode_curvature(denoise: DenoiseFn, x: Tensor, t: float, dt: float = FINITE_DIFFERENCE_STEP) -> Tensor:
    """Per-sample curvature ||d^2x/dt^2|| of the ODE trajectory through x at time t, shape (B,)."""
    velocity = _velocity(denoise, x, t)
    velocity_ahead = _velocity(denoise, x + dt * velocity, t + dt)
    return ((velocity_ahead - velocity) / dt).flatten(1).norm(dim=1)


@torch.no_grad()
def jacobian_frobenius_sq(
    denoise: DenoiseFn,
    x: Tensor,
    t: float,
    dt: float = FINITE_DIFFERENCE_STEP,
    num_probes: int | None = None,
    generator=None,
) -> Tensor:
    """Per-sample ||dD(x; t)/dx||_F^2, shape (B,).

    ``num_probes=None`` differentiates along every coordinate (exact up to finite differences);
    otherwise averages ||J u||^2 over ``num_probes`` Gaussian probes u (E||J u||^2 = ||J||_F^2).
    """
    sigma = torch.full((x.shape[0],), t, dtype=x.dtype, device=x.device)
    flat = x.flatten(1)
    if num_probes is None:
        directions = torch.eye(flat.shape[1], dtype=x.dtype, device=x.device).unsqueeze(1).expand(-1, x.shape[0], -1)
    else:
        shape = (num_probes, *flat.shape)
        directions = torch.randn(shape, dtype=x.dtype, device=x.device, generator=generator)
    total = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for direction in directions:
        step = dt * direction.reshape(x.shape)
        derivative = (denoise(x + step, sigma) - denoise(x - step, sigma)) / (2 * dt)
        total += derivative.flatten(1).pow(2).sum(dim=1)
    return total if num_probes is None else total / num_probes


def wasserstein2(a: np.ndarray | Tensor, b: np.ndarray | Tensor) -> float:
    """Exact 2-Wasserstein distance between two equal-size point sets (optimal assignment)."""
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    if a.shape != b.shape:
        raise ValueError(f"point sets must have equal shapes, got {a.shape} and {b.shape}")
    cost = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    rows, cols = linear_sum_assignment(cost)
    return float(np.sqrt(cost[rows, cols].mean()))
