"""Training of the image models: stage 1 (plain EDM, or DisCo-Diff's encoder and U-Net end-to-end),
stage 2 (the class-conditional autoregressive prior on the encoder's latents).

Each stage writes a resumable checkpoint into the run folder (`plain.pt`, `disco.pt`, `prior.pt`);
a stage whose checkpoint has reached its step count is loaded instead of trained again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

from disco_dock.core.disco import DisCoDiff
from disco_dock.core.edm import edm_loss
from disco_dock.core.fit import FitSettings, StepIndices, Task, fit
from disco_dock.core.prior import AutoregressivePrior, PriorConfig
from disco_dock.core.training import seed_everything
from disco_dock.image.config import ImageConfig
from disco_dock.image.data import ImageDataset
from disco_dock.image.networks import build_denoiser, build_encoder

PLAIN, DISCO = "plain", "disco"


def plain_config(config: ImageConfig) -> ImageConfig:
    """The baseline's settings: the same U-Net and training, without latents."""
    return config.replace(latents={"num_latents": 0, "groups": ()})


def build_model(config: ImageConfig, channels: int, num_classes: int) -> nn.Module:
    """The stage-1 model: a bare EDM denoiser when m = 0, else `DisCoDiff(encoder, denoiser)`."""
    denoiser = build_denoiser(config, channels, num_classes)
    if config.latents.num_latents == 0:
        return denoiser
    latents = config.latents
    return DisCoDiff(build_encoder(config, channels), denoiser, latents.disco)


def stage1_loss(model: nn.Module, config: ImageConfig, images: Tensor, labels: Tensor | None) -> Tensor:
    """Mean EDM loss of a batch; DisCo-Diff infers the latents from the clean images."""
    if isinstance(model, DisCoDiff):
        return model.loss(images, config.edm, labels=labels).mean()
    return edm_loss(model, images, config.edm, labels=labels).mean()


def random_batch(dataset: ImageDataset, batch_size: int) -> tuple[Tensor, Tensor, Tensor | None]:
    """(indices, images, labels) of a batch drawn with replacement from the global torch generator
    (so resumption replays it)."""
    index = torch.randint(len(dataset), (batch_size,))
    labels = dataset.labels[index] if dataset.labels is not None else None
    return index, dataset.images[index], labels


def _fit(name: str, model: nn.Module, loss: Callable[[int], Tensor], steps: int, lr: float, config: ImageConfig, run_dir: Path, **settings) -> nn.Module:
    """`steps` Adam steps on `loss` (which draws its own batch), logged and checkpointed into
    `run_dir` (`<name>.pt`, `<name>_metrics.jsonl`) as `config.training` says; `settings`: more `FitSettings`."""
    training = config.training
    settings = FitSettings(lr, log_every=training.log_every, checkpoint_every=training.checkpoint_every, **settings)
    checkpoint, metrics = run_dir / f"{name}.pt", run_dir / f"{name}_metrics.jsonl"
    return fit(Task(name, model, StepIndices(steps), checkpoint, settings, loss, config=config.training_identity(), metrics=metrics))


def train_stage1(name: str, config: ImageConfig, train: ImageDataset, run_dir: Path) -> nn.Module:
    """Train the plain (m = 0) or DisCo-Diff model for `config.training.steps`; returns its EMA copy, in eval mode."""
    seed_everything(config.seed)
    model = build_model(config, train.channels, train.num_classes)
    training = config.training

    def loss(step: int) -> Tensor:
        _, images, labels = random_batch(train, training.batch_size)
        return stage1_loss(model, config, images, labels)

    return _fit(name, model, loss, training.steps, training.lr, config, run_dir, grad_clip=training.grad_clip, ema_decay=training.ema_decay)


def prior_for(config: ImageConfig, num_classes: int) -> AutoregressivePrior:
    """The autoregressive prior over the m latents, class-conditional when the data has classes."""
    latents = config.latents
    return AutoregressivePrior(PriorConfig(latents.num_latents, latents.codebook_size, num_classes=num_classes))


@torch.no_grad()
def label_dataset(model: DisCoDiff, dataset: ImageDataset, batch_size: int = 500) -> Tensor:
    """Hard latents (N, m) of every image from the trained encoder (Gumbel temperature label_tau)."""
    codes = []
    for start in range(0, len(dataset), batch_size):
        codes.append(model.label(dataset.images[start : start + batch_size]))
    return torch.cat(codes)


def train_prior(config: ImageConfig, model: DisCoDiff, train: ImageDataset, run_dir: Path) -> AutoregressivePrior:
    """Stage 2: fit the prior to the encoder's latents of the training images; returns it in eval mode."""
    seed_everything(config.seed + 1)
    codes = label_dataset(model, train)
    prior = prior_for(config, train.num_classes)
    training = config.training

    def loss(step: int) -> Tensor:
        index, _, labels = random_batch(train, training.batch_size)
        return prior.loss(codes[index], labels)

    return _fit("prior", prior, loss, training.prior_steps, training.prior_lr, config, run_dir).eval()
