"""EDM diffusion (Karras et al. 2022): preconditioning, training noise and loss, sigma schedule, samplers.

Conventions follow the EDM paper: the noisy sample is x = y + sigma * n with y clean data and
n ~ N(0, I); the denoiser D(x; sigma) estimates y; the probability-flow ODE is
dx/dsigma = (x - D(x; sigma)) / sigma, integrated from sigma_max down to 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn

from disco_dock.core.config import Settings

DenoiseFn = Callable[[Tensor, Tensor], Tensor]
"""A denoiser closed over everything but the noisy sample x and its per-sample noise level sigma (B,)."""


@dataclass(frozen=True)
class EDMConfig(Settings):
    """Noise distribution and sampling schedule of EDM (defaults from Karras et al. 2022)."""

    sigma_data: float = 0.5
    p_mean: float = -1.2
    p_std: float = 1.2
    sigma_min: float = 0.002
    sigma_max: float = 80.0
    rho: float = 7.0


def _per_sample(sigma: Tensor, like: Tensor) -> Tensor:
    """Broadcast a per-sample sigma of shape (B,) (or a scalar) against x of shape (B, ...)."""
    sigma = torch.as_tensor(sigma, dtype=like.dtype, device=like.device)
    if sigma.ndim == 0:
        sigma = sigma.expand(like.shape[0])
    return sigma.reshape(-1, *([1] * (like.ndim - 1)))


def preconditioning(sigma: Tensor, sigma_data: float) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """EDM's c_skip, c_out, c_in, c_noise for noise level sigma (Table 1 of Karras et al.)."""
    total = sigma**2 + sigma_data**2
    c_skip = sigma_data**2 / total
    c_out = sigma * sigma_data / total.sqrt()
    c_in = 1.0 / total.sqrt()
    c_noise = sigma.log() / 4.0
    return c_skip, c_out, c_in, c_noise


class EDMDenoiser(nn.Module):
    """Wraps a raw network F into the preconditioned denoiser D(x; sigma) = c_skip x + c_out F(c_in x, c_noise).

    The network is called as ``network(c_in * x, c_noise, **kwargs)`` with c_noise of shape (B,);
    extra keyword arguments (discrete latents, class labels, ...) pass through untouched.
    """

    def __init__(self, network: nn.Module, sigma_data: float = 0.5):
        super().__init__()
        self.network = network
        self.sigma_data = sigma_data

    def forward(self, x: Tensor, sigma: Tensor, **kwargs) -> Tensor:
        sigma_b = _per_sample(sigma, x)
        c_skip, c_out, c_in, c_noise = preconditioning(sigma_b, self.sigma_data)
        out = self.network(c_in * x, c_noise.reshape(-1), **kwargs)
        return c_skip * x + c_out * out


def training_sigma(batch_size: int, config: EDMConfig, device=None, generator=None) -> Tensor:
    """Draw per-sample training noise levels from EDM's log-normal ln(sigma) ~ N(p_mean, p_std^2)."""
    normal = torch.randn(batch_size, device=device, generator=generator)
    return (normal * config.p_std + config.p_mean).exp()


def loss_weight(sigma: Tensor, sigma_data: float) -> Tensor:
    """EDM's loss weighting lambda(sigma) = (sigma^2 + sigma_data^2) / (sigma sigma_data)^2."""
    return (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2


def edm_loss(denoiser: Callable[..., Tensor], clean: Tensor, config: EDMConfig, generator=None, **kwargs) -> Tensor:
    """Per-sample weighted denoising loss, shape (B,); ``kwargs`` go to the denoiser (latents, labels)."""
    sigma = training_sigma(clean.shape[0], config, clean.device, generator)
    noise = torch.randn(clean.shape, device=clean.device, generator=generator, dtype=clean.dtype)
    sigma_b = _per_sample(sigma, clean)
    denoised = denoiser(clean + sigma_b * noise, sigma, **kwargs)
    squared_error = (denoised - clean) ** 2
    return loss_weight(sigma, config.sigma_data) * squared_error.flatten(1).mean(dim=1)


def sigma_schedule(num_steps: int, config: EDMConfig, device=None) -> Tensor:
    """EDM's rho-schedule: num_steps decreasing noise levels from sigma_max to sigma_min, then a final 0."""
    if num_steps < 1:
        raise ValueError("num_steps must be at least 1")
    ramp = torch.linspace(0, 1, num_steps, device=device, dtype=torch.float64)
    inv_rho = 1.0 / config.rho
    sigmas = (config.sigma_max**inv_rho + ramp * (config.sigma_min**inv_rho - config.sigma_max**inv_rho)) ** config.rho
    return torch.cat([sigmas, torch.zeros(1, device=device, dtype=torch.float64)])


@dataclass(frozen=True)
class SamplerConfig(Settings):
    """Deterministic Heun/Euler by default; s_churn > 0 adds EDM's stochastic churn (Algorithm 2)."""

    num_steps: int = 50
    solver: str = "heun"
    s_churn: float = 0.0
    s_tmin: float = 0.0
    s_tmax: float = float("inf")
    s_noise: float = 1.0

    def __post_init__(self):
        if self.solver not in ("heun", "euler"):
            raise ValueError(f"unknown solver {self.solver!r}: use 'heun' or 'euler'")


def sample(
    denoise: DenoiseFn,
    noise: Tensor,
    sigmas: Tensor,
    config: SamplerConfig = SamplerConfig(),
    generator=None,
    return_trajectory: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Integrate the probability-flow ODE (optionally with churn) from unit-variance ``noise``.

    ``sigmas`` is a decreasing schedule ending in 0 (see `sigma_schedule`); ``noise`` is scaled by
    sigmas[0]. With ``return_trajectory`` also returns the states at every schedule point,
    shape (len(sigmas), *noise.shape).
    """
    sigmas = sigmas.to(noise.device)
    x = noise.to(torch.float64) * sigmas[0]
    trajectory = [x]
    num_steps = len(sigmas) - 1
    for i in range(num_steps):
        sigma_cur, sigma_next = sigmas[i], sigmas[i + 1]
        if config.s_churn > 0 and config.s_tmin <= sigma_cur <= config.s_tmax:
            gamma = min(config.s_churn / num_steps, math.sqrt(2) - 1)
            sigma_hat = sigma_cur * (1 + gamma)
            extra = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
            x = x + (sigma_hat**2 - sigma_cur**2).sqrt() * config.s_noise * extra
        else:
            sigma_hat = sigma_cur
        slope = _ode_slope(denoise, x, sigma_hat)
        x_next = x + (sigma_next - sigma_hat) * slope
        if config.solver == "heun" and sigma_next > 0:
            slope_next = _ode_slope(denoise, x_next, sigma_next)
            x_next = x + (sigma_next - sigma_hat) * 0.5 * (slope + slope_next)
        x = x_next
        trajectory.append(x)
    out = x.to(noise.dtype)
    if return_trajectory:
        return out, torch.stack(trajectory).to(noise.dtype)
    return out


def _ode_slope(denoise: DenoiseFn, x: Tensor, sigma: Tensor) -> Tensor:
    """dx/dsigma = (x - D(x; sigma)) / sigma, with the network evaluated in float32."""
    sigma_batch = sigma.expand(x.shape[0]).to(torch.float32)
    denoised = denoise(x.to(torch.float32), sigma_batch).to(x.dtype)
    return (x - denoised) / sigma
