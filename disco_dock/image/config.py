"""Every setting of the image backend in one typed place: data, latents, networks, training, evaluation.

The defaults are sized for scikit-learn's 8x8 handwritten digits on a 2-core CPU: one
`disco-dock image train` trains the plain EDM model and DisCo-Diff (same U-Net, same steps),
the prior and the evaluation classifier in well under 30 minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from disco_dock.core.config import Settings
from disco_dock.core.disco import DisCoConfig
from disco_dock.core.edm import EDMConfig

DIGITS = "digits"


@dataclass(frozen=True)
class DataConfig(Settings):
    """Where the images come from and how they are shaped."""

    source: str = DIGITS
    """``digits`` (scikit-learn's, offline), a folder of images (class = sub-folder name, if any),
    or a ``.npy`` / ``.npz`` array file (``.npz``: ``images`` and optional ``labels``)."""
    image_size: int = 8
    """Images are resized (bilinear) to image_size x image_size; must be divisible by 2^(levels-1)."""
    test_fraction: float = 0.2
    """Held out (stratified by class when labels exist) for the Frechet distance reference."""


@dataclass(frozen=True)
class LatentConfig(Settings):
    """The discrete latents: m = num_latents, each over codebook_size classes.

    ``groups`` splits the m latents for the group-hierarchical variant: group i feeds the
    cross-attention of the i-th decoder resolution, counted from the coarsest. Empty = every
    cross-attention layer sees all m latents (the standard variant). ``num_latents`` 0 gives the
    plain EDM model (no encoder, no cross-attention)."""

    num_latents: int = 4
    codebook_size: int = 16
    groups: tuple[int, ...] = ()
    embed_dim: int = 64
    """Width of the latent embeddings and of the small transformer over them."""
    transformer_layers: int = 1
    disco: DisCoConfig = field(default_factory=DisCoConfig)
    """Gumbel temperatures and null-latent dropout (the paper's defaults)."""

    def __post_init__(self):
        if self.groups and sum(self.groups) != self.num_latents:
            raise ValueError(f"latent groups {self.groups} must add up to num_latents={self.num_latents}")

    @property
    def hierarchical(self) -> bool:
        return len(self.groups) > 0


@dataclass(frozen=True)
class EncoderConfig(Settings):
    """ViT latent encoder: patches plus m classification tokens, one per latent."""

    patch_size: int = 2
    dim: int = 48
    depth: int = 2
    heads: int = 4


@dataclass(frozen=True)
class UNetConfig(Settings):
    """EDM-preconditioned U-Net: residual blocks, self-attention followed by cross-attention to the
    latents at every level listed in ``attention_levels``.

    Default size measured on one CPU thread (batch 128, 8x8 digits, forward + backward + Adam):
    0.18 s per DisCo-Diff step, 0.13 s per plain step; (64, 128, 128) with 4 heads took 0.51 s."""

    channels: tuple[int, ...] = (32, 48, 48)
    """Channels per resolution level (level 0 = full size; each further level halves it)."""
    blocks_per_level: int = 1
    attention_levels: tuple[int, ...] = (1, 2)
    """Levels (0 = full size) at which attention layers sit, in encoder and decoder."""
    heads: int = 2
    """Attention heads (also of the small transformer over the latents)."""
    dropout: float = 0.0
    embed_dim: int = 128
    """Width of the noise-level and class embeddings."""


@dataclass(frozen=True)
class TrainingConfig(Settings):
    """Stage 1 (denoiser and encoder), stage 2 (prior), and the evaluation classifier."""

    steps: int = 4000
    """Adam steps per diffusion model; the plain and DisCo models get the same number."""
    batch_size: int = 128
    lr: float = 2e-4
    ema_decay: float = 0.999
    grad_clip: float = 1.0
    prior_steps: int = 2000
    prior_lr: float = 1e-3
    classifier_steps: int = 1500
    log_every: int = 100
    checkpoint_every: int = 500


@dataclass(frozen=True)
class EvaluationConfig(Settings):
    """Sampling and the Frechet distance."""

    samples: int = 1000
    """Samples per model for the Frechet distance (classes drawn uniformly)."""
    sampler_steps: tuple[int, ...] = (18, 6)
    """Heun step counts at which each model is scored; the first (EDM's default for small images)
    is also used for the grids. Few steps are where the paper found DisCo-Diff's largest gains."""
    guidance: float = 0.0
    prior_temperature: float = 1.0


@dataclass(frozen=True)
class ImageConfig(Settings):
    """What an image run is; stored in its checkpoints."""

    data: DataConfig = field(default_factory=DataConfig)
    latents: LatentConfig = field(default_factory=LatentConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    unet: UNetConfig = field(default_factory=UNetConfig)
    edm: EDMConfig = field(default_factory=EDMConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    seed: int = 0

    def training_identity(self) -> dict:
        """The settings that define the trained networks (evaluation settings left out): stored in
        checkpoints, so that a run folder refuses to resume with other ones."""
        identity = self.to_dict()
        del identity["evaluation"]
        return identity
