"""Evaluation of generated images: a small CNN classifier trained on the same data gives the feature
space of a Frechet distance (FID-style, with the project's own network instead of Inception) and the
class accuracy of class-conditional samples.

Unlabelled data have no classes to learn: their classifier is the same network, randomly initialised
from a fixed seed and never trained, so the Frechet distance is one in random features and the class
accuracy is None.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import linalg
from torch import Tensor, nn

from disco_dock.core.training import progress as progress_bar
from disco_dock.image.data import ImageDataset

CLASSIFIER_WIDTHS = (32, 64, 128)
CLASSIFIER_LR = 2e-3
SHIFT_PIXELS = 1
SQRTM_EPS = 1e-6


def _conv_block(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1),
        nn.GroupNorm(8, out_channels),
        nn.SiLU(),
    )


class Classifier(nn.Module):
    """Three stages of two 3x3 convs (32, 64, 128 channels; the last two stages halve the resolution),
    then global average pooling.

    `features` gives the pooled 128-dimensional features, `forward` the class logits. Works for any
    channel count and image size >= 8. With ``num_classes`` 0 there is no head (feature extractor only).
    GroupNorm instead of BatchNorm keeps the features independent of batch composition.
    """

    def __init__(self, channels: int, num_classes: int, widths: tuple[int, ...] = CLASSIFIER_WIDTHS):
        """``widths``: channels per stage, multiples of 8 (GroupNorm uses 8 groups)."""
        super().__init__()
        self.channels = channels
        self.num_classes = num_classes
        layers, width_in = [], channels
        for index, width in enumerate(widths):
            layers += [_conv_block(width_in, width, stride=1 if index == 0 else 2), _conv_block(width, width, stride=1)]
            width_in = width
        self.body = nn.Sequential(*layers)
        self.feature_dim = width_in
        self.head = nn.Linear(width_in, num_classes) if num_classes > 0 else None

    def features(self, x: Tensor) -> Tensor:
        """(B, C, H, W) images in [-1, 1] -> (B, feature_dim) pooled features."""
        return self.body(x).mean(dim=(2, 3))

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, H, W) images in [-1, 1] -> (B, num_classes) logits."""
        if self.head is None:
            raise ValueError("this classifier was built for unlabelled data and has no class head")
        return self.head(self.features(x))


def random_shift(images: Tensor, generator: torch.Generator, pixels: int = SHIFT_PIXELS) -> Tensor:
    """Shift each image by up to ``pixels`` in each direction (edges replicated), sizes unchanged."""
    batch, _, height, width = images.shape
    padded = F.pad(images, (pixels,) * 4, mode="replicate")
    offsets = torch.randint(2 * pixels + 1, (2, batch), generator=generator).to(images.device)
    rows = offsets[0, :, None] + torch.arange(height, device=images.device)
    cols = offsets[1, :, None] + torch.arange(width, device=images.device)
    batch_index = torch.arange(batch, device=images.device)[:, None, None]
    return padded[batch_index, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def train_classifier(
    train: ImageDataset,
    steps: int,
    batch_size: int = 128,
    seed: int = 0,
    progress: bool = True,
    device: torch.device | str = "cpu",
) -> Classifier:
    """Train a `Classifier` on ``train`` with Adam (cosine-decayed learning rate) and random 1-pixel shifts.

    Initialisation and batches come from ``seed`` alone (the global generators are left untouched),
    so the result is reproducible. Unlabelled data give the seeded, untrained network (see the module
    docstring). The classifier is returned in eval mode on ``device``.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        classifier = Classifier(train.channels, train.num_classes).to(device)
    if train.num_classes == 0 or steps <= 0:
        return classifier.eval()
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(classifier.parameters(), lr=CLASSIFIER_LR)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    classifier.train()
    for _ in progress_bar(range(steps), desc="classifier", disable=not progress):
        indices = torch.randint(len(train), (batch_size,), generator=generator)
        images = random_shift(train.images[indices], generator).to(device)
        loss = F.cross_entropy(classifier(images), train.labels[indices].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    return classifier.eval()


def _device_of(module: nn.Module) -> torch.device:
    return next(module.parameters()).device


@torch.no_grad()
def image_features(classifier: Classifier, images: Tensor, batch_size: int = 500) -> Tensor:
    """Pooled classifier features (N, feature_dim) of images (N, C, H, W) in [-1, 1], on the CPU."""
    if images.ndim != 4 or images.shape[1] != classifier.channels:
        raise ValueError(f"expected images of shape (N, {classifier.channels}, H, W), got {tuple(images.shape)}")
    device = _device_of(classifier)
    batches = [classifier.features(batch.to(device)).float().cpu() for batch in images.split(batch_size)]
    return torch.cat(batches)


@torch.no_grad()
def class_accuracy(classifier: Classifier, images: Tensor, labels: Tensor, batch_size: int = 500) -> float:
    """Fraction of images whose predicted class is their label."""
    if len(images) != len(labels):
        raise ValueError(f"got {len(images)} images but {len(labels)} labels")
    device = _device_of(classifier)
    predictions = torch.cat([classifier(batch.to(device)).argmax(dim=1).cpu() for batch in images.split(batch_size)])
    return (predictions == labels.cpu()).float().mean().item()


def frechet_distance(features_a: Tensor | np.ndarray, features_b: Tensor | np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (N_a, d) and (N_b, d):
    |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)).

    Imaginary parts of the matrix square root (numerical noise) are dropped; if it is not finite,
    ``SQRTM_EPS`` is added to both covariances' diagonals. Tiny negative results are clipped to 0.
    """
    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"expected two feature sets (N, d) with the same d, got {a.shape} and {b.shape}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"a covariance needs at least 2 samples per set, got {len(a)} and {len(b)}")
    mean_gap = a.mean(axis=0) - b.mean(axis=0)
    cov_a = np.atleast_2d(np.cov(a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(b, rowvar=False))
    cross = linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(cross).all():
        offset = SQRTM_EPS * np.eye(len(cov_a))
        cross = linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    distance = mean_gap @ mean_gap + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(np.real(cross))
    return max(float(distance), 0.0)


@dataclass
class ImageScores:
    """Frechet distance to the reference images, and class accuracy (None without labels)."""

    frechet_distance: float
    class_accuracy: float | None


def score_samples(
    classifier: Classifier, samples: Tensor, labels: Tensor | None, reference_features: Tensor
) -> ImageScores:
    """Score ``samples``: Frechet distance to the reference images, given by their features
    (`image_features`, computed once for every set scored against them), and, when ``labels``
    (the classes the samples were drawn for) are given and the classifier has classes, the
    fraction classified as their label."""
    distance = frechet_distance(image_features(classifier, samples), reference_features)
    accuracy = None
    if labels is not None and classifier.num_classes > 0:
        accuracy = class_accuracy(classifier, samples, labels)
    return ImageScores(frechet_distance=distance, class_accuracy=accuracy)
