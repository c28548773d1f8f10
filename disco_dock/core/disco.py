"""DisCo-Diff for any modality with a fixed codebook: the typed interface a backend implements,
the stage-1 loss (encoder and denoiser end-to-end) and stage-2 labelling and sampling.

A modality supplies three networks (see docs/custom_modality.md for a worked example):

* a `LatentEncoder`: clean sample (B, ...) -> latent logits (B, m, k);
* a `LatentDenoiser`: (noisy x, sigma (B,), latents (B, m, k) one-hot or None) -> denoised x,
  EDM-preconditioned (wrap a raw network in `disco_dock.core.edm.EDMDenoiser`), where
  ``latents=None`` or an all-zero latent means the learned null embedding;
* a `LatentPrior`: the autoregressive `disco_dock.core.prior.AutoregressivePrior` fits any modality.

Segment-wise latents (pointers to graph nodes, as in docking) follow the same recipe with
`disco_dock.core.latents.segment_gumbel_softmax_st`; the docking backend wires them itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from disco_dock.core.config import Settings
from disco_dock.core.edm import (
    EDMConfig,
    SamplerConfig,
    edm_loss,
    sample,
    sigma_schedule,
)
from disco_dock.core.guidance import guided_denoiser
from disco_dock.core.latents import drop_latents, gumbel_softmax_st
from disco_dock.core.prior import AutoregressivePrior


@runtime_checkable
class LatentEncoder(Protocol):
    """Maps clean samples (B, ...) to the logits (B, m, k) of m discrete latents over k classes."""

    def __call__(self, clean: Tensor, **condition) -> Tensor: ...


@runtime_checkable
class LatentDenoiser(Protocol):
    """EDM denoiser D(x; sigma, z): ``latents`` (B, m, k) one-hot, all-zero rows or None = null embedding."""

    def __call__(self, x: Tensor, sigma: Tensor, latents: Tensor | None = None, **condition) -> Tensor: ...


@dataclass(frozen=True)
class DisCoConfig(Settings):
    """Stage-1 settings of DisCo-Diff (paper defaults)."""

    train_tau: float = 1.0
    """Gumbel-softmax temperature while training encoder and denoiser together."""
    label_tau: float = 0.01
    """Gumbel-softmax temperature when labelling the data for the prior (stage 2)."""
    latent_dropout: float = 0.1
    """Probability of replacing a sample's latents by the null embedding (enables guidance)."""


class DisCoDiff(nn.Module):
    """An encoder and a latent-conditioned denoiser, trained end-to-end (stage 1)."""

    def __init__(self, encoder: nn.Module, denoiser: nn.Module, config: DisCoConfig = DisCoConfig()):
        super().__init__()
        self.encoder, self.denoiser, self.config = encoder, denoiser, config

    def loss(self, clean: Tensor, edm: EDMConfig, **condition) -> Tensor:
        """Per-sample EDM loss (B,) with latents inferred from ``clean`` by straight-through Gumbel-softmax."""
        latents = gumbel_softmax_st(self.encoder(clean, **condition), tau=self.config.train_tau)
        latents = drop_latents(latents, self.config.latent_dropout)
        return edm_loss(self.denoiser, clean, edm, latents=latents, **condition)

    @torch.no_grad()
    def label(self, clean: Tensor, **condition) -> Tensor:
        """Hard latent indices (B, m) for training the prior (Gumbel temperature ``label_tau``)."""
        return gumbel_softmax_st(self.encoder(clean, **condition), tau=self.config.label_tau).argmax(-1)


@torch.no_grad()
def sample_latents(
    prior: AutoregressivePrior, count: int, labels: Tensor | None = None, temperature: float = 1.0, generator=None
) -> Tensor:
    """``count`` latents from the prior, one-hot (count, m, k), the form a `LatentDenoiser` takes."""
    codes = prior.sample(count, labels=labels, temperature=temperature, generator=generator)
    return nn.functional.one_hot(codes, prior.config.codebook_size).float()


@torch.no_grad()
def sample_with_prior(
    denoiser: nn.Module,
    prior: AutoregressivePrior,
    noise: Tensor,
    edm: EDMConfig,
    sampler: SamplerConfig = SamplerConfig(),
    prior_temperature: float = 1.0,
    guidance: float = 0.0,
    prior_labels: Tensor | None = None,
    generator=None,
    return_trajectory: bool = False,
    **condition,
) -> tuple[Tensor, Tensor] | tuple[Tensor, Tensor, Tensor]:
    """Latents from the prior, then the EDM sampler from ``noise`` (B, ...).

    Returns (samples, latents one-hot (B, m, k)), plus the trajectory when asked for.
    ``prior_labels`` condition a class-conditional prior; ``condition`` goes to the denoiser (a
    class-conditional denoiser gets the same labels as ``labels=``).
    """
    latents = sample_latents(prior, noise.shape[0], prior_labels, prior_temperature, generator).to(noise.dtype)
    denoise = guided_denoiser(denoiser, latents, guidance, **condition)
    result = sample(denoise, noise, sigma_schedule(sampler.num_steps, edm, noise.device), sampler, return_trajectory=return_trajectory)
    if return_trajectory:
        samples, trajectory = result
        return samples, latents, trajectory
    return result, latents
