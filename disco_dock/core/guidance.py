"""Classifier-free guidance on the discrete latents."""

from __future__ import annotations

from typing import Callable

from torch import Tensor

from disco_dock.core.edm import DenoiseFn


def guide(conditional: Tensor, unconditional: Tensor, scale: float) -> Tensor:
    """D = D(z) + s (D(z) - D(null)). s = 0 is purely conditional; the paper's w equals 1 + s."""
    return conditional + scale * (conditional - unconditional)


def guided_denoiser(
    denoiser: Callable[..., Tensor],
    latents: Tensor | None,
    scale: float = 0.0,
    sigma_window: tuple[float, float] = (0.0, float("inf")),
    **condition,
) -> DenoiseFn:
    """Close a latent-conditioned denoiser over its latents (and other conditioning) for a sampler.

    ``denoiser(x, sigma, latents=..., **condition)`` must treat ``latents=None`` as the null
    embedding. Guidance is applied only while sigma lies inside ``sigma_window``.
    """
    low, high = sigma_window

    def denoise(x: Tensor, sigma: Tensor) -> Tensor:
        conditional = denoiser(x, sigma, latents=latents, **condition)
        if scale == 0.0 or latents is None or not (low <= float(sigma.reshape(-1)[0]) <= high):
            return conditional
        unconditional = denoiser(x, sigma, latents=None, **condition)
        return guide(conditional, unconditional, scale)

    return denoise
