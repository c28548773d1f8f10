"""Sampling from trained image models, and the PNG grids of `disco-dock image sample`.

A run folder (written by `disco-dock image train`) holds `run.json` (settings and the data's
shape and classes) and the checkpoints; `load_run` rebuilds the EMA networks from them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from disco_dock.core.disco import DisCoDiff, sample_latents
from disco_dock.core.edm import SamplerConfig, sample, sigma_schedule
from disco_dock.core.guidance import guided_denoiser
from disco_dock.core.prior import AutoregressivePrior
from disco_dock.core.training import EMA, load_checkpoint
from disco_dock.image.config import ImageConfig
from disco_dock.image.grids import save_grid
from disco_dock.image.training import DISCO, PLAIN, build_model, plain_config, prior_for

RUN_FILE = "run.json"
SAMPLE_BATCH = 250
"""Samples denoised at once (bounds memory)."""


class RunError(ValueError):
    """A run folder that cannot be used (missing, unfinished, or from another version)."""


@dataclass
class TrainedModels:
    """The EMA networks of a run and what they were trained on."""

    config: ImageConfig
    channels: int
    class_names: list[str]
    plain: nn.Module | None
    """The baseline's EDM denoiser (None if the run did not train one)."""
    disco: DisCoDiff | None
    prior: AutoregressivePrior | None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def denoiser(self, variant: str) -> nn.Module:
        """The EDM denoiser of ``variant`` (PLAIN or DISCO)."""
        model = self.plain if variant == PLAIN else self.disco.denoiser if self.disco is not None else None
        if model is None:
            raise RunError(f"this run has no {variant} model")
        return model


def write_run_file(run_dir: Path, config: ImageConfig, channels: int, class_names: list[str]) -> None:
    """Record what a run is, so `load_run` can rebuild its networks; refuses (RunError) a folder
    that holds a run of other settings or data, rather than mixing the two."""
    run_dir.mkdir(parents=True, exist_ok=True)
    def identity(info: dict) -> dict:
        return {**info, "config": ImageConfig.from_dict(info["config"]).training_identity()}

    info = json.loads(json.dumps({"config": config.to_dict(), "channels": channels, "class_names": class_names}))
    path = run_dir / RUN_FILE
    if path.is_file() and identity(json.loads(path.read_text())) != identity(info):
        raise RunError(f"{run_dir} was written with another configuration or data: delete it or use another folder")
    path.write_text(json.dumps(info, indent=2))


def _load_ema(path: Path, model: nn.Module, config: ImageConfig) -> nn.Module:
    ema = EMA(model)
    try:
        load_checkpoint(path, ema=ema, restore_rng=False, expected_config=config.training_identity())
    except ValueError as error:
        raise RunError(str(error)) from None
    return ema.model.eval()


def load_run(run_dir: Path) -> TrainedModels:
    """The trained networks of a run folder (RunError if it is not a finished run)."""
    run_dir = Path(run_dir)
    if not (run_dir / RUN_FILE).is_file():
        raise RunError(f"{run_dir}: not an image run folder (no {RUN_FILE}); train one with `disco-dock image train`")
    info = json.loads((run_dir / RUN_FILE).read_text())
    config = ImageConfig.from_dict(info["config"])
    channels, class_names = info["channels"], info["class_names"]
    plain = disco = prior = None
    if (run_dir / f"{PLAIN}.pt").is_file():
        baseline = plain_config(config)
        plain = _load_ema(run_dir / f"{PLAIN}.pt", build_model(baseline, channels, len(class_names)), baseline)
    if (run_dir / f"{DISCO}.pt").is_file() and (run_dir / "prior.pt").is_file():
        disco = _load_ema(run_dir / f"{DISCO}.pt", build_model(config, channels, len(class_names)), config)
        prior = prior_for(config, len(class_names))
        load_checkpoint(run_dir / "prior.pt", prior, restore_rng=False)
        prior.eval()
    if plain is None and disco is None:
        raise RunError(f"{run_dir}: no finished model in this run folder")
    return TrainedModels(config, channels, class_names, plain, disco, prior)


def draw_labels(models: TrainedModels, count: int, generator: torch.Generator) -> Tensor | None:
    """Uniformly drawn class labels (None for unlabelled data)."""
    if models.num_classes == 0:
        return None
    return torch.randint(models.num_classes, (count,), generator=generator)


@torch.no_grad()
def generate(
    models: TrainedModels,
    variant: str,
    labels: Tensor | None,
    noise: Tensor,
    latents: Tensor | None = None,
    steps: int | None = None,
    guidance: float | None = None,
) -> Tensor:
    """Heun samples from unit ``noise`` (B, C, H, W); DisCo-Diff needs ``latents`` (B, m, k)."""
    evaluation = models.config.evaluation
    steps = steps or evaluation.sampler_steps[0]
    guidance = evaluation.guidance if guidance is None else guidance
    denoiser = models.denoiser(variant)
    sigmas = sigma_schedule(steps, models.config.edm)
    outputs = []
    for start in range(0, noise.shape[0], SAMPLE_BATCH):
        part = slice(start, start + SAMPLE_BATCH)
        part_labels = labels[part] if labels is not None else None
        part_latents = latents[part] if latents is not None else None
        denoise = guided_denoiser(denoiser, part_latents, guidance, labels=part_labels)
        outputs.append(sample(denoise, noise[part], sigmas, SamplerConfig(steps)))
    return torch.cat(outputs).clamp(-1, 1)


def _noise(models: TrainedModels, count: int, generator: torch.Generator) -> Tensor:
    size = models.config.data.image_size
    return torch.randn(count, models.channels, size, size, generator=generator)


def sample_variant(
    models: TrainedModels, variant: str, count: int, seed: int, steps: int | None = None, temperature: float | None = None
) -> tuple[Tensor, Tensor | None]:
    """``count`` samples of ``variant`` with ``steps`` Heun steps (classes drawn uniformly); returns (images, labels)."""
    generator = torch.Generator().manual_seed(seed)
    labels = draw_labels(models, count, generator)
    latents = None
    if variant == DISCO:
        temperature = models.config.evaluation.prior_temperature if temperature is None else temperature
        latents = sample_latents(models.prior, count, labels, temperature, generator)
    return generate(models, variant, labels, _noise(models, count, generator), latents, steps), labels


@dataclass(frozen=True)
class GridOptions:
    """What `write_grids` draws."""

    columns: int = 10
    rows: int = 10
    seed: int = 0
    guidance: float | None = None
    prior_temperature: float | None = None
    label: int | None = None
    """Draw every grid for this class (index into the run's class names); None = classes vary by row."""


def _row_labels(models: TrainedModels, options: GridOptions) -> Tensor | None:
    """One class per row: the chosen class, or classes 0, 1, ... cycled."""
    if models.num_classes == 0:
        return None
    if options.label is not None:
        if not 0 <= options.label < models.num_classes:
            raise RunError(f"class {options.label} is out of range: this run has classes 0..{models.num_classes - 1}")
        return torch.full((options.rows,), options.label)
    return torch.arange(options.rows) % models.num_classes


def _per_row(values: Tensor | None, columns: int) -> Tensor | None:
    return values.repeat_interleave(columns, dim=0) if values is not None else None


@torch.no_grad()
def write_grids(models: TrainedModels, out: Path, options: GridOptions = GridOptions()) -> list[Path]:
    """PNG grids into ``out``: random samples of each model (a class per row), DisCo-Diff samples
    sharing one latent per row (paper Fig. 2b), and for the group-hierarchical variant samples
    mixing two latents' groups (paper Fig. 15). Returns the files written."""
    generator = torch.Generator().manual_seed(options.seed)
    rows, columns = options.rows, options.columns
    labels = _per_row(_row_labels(models, options), columns)
    noise = _noise(models, rows * columns, generator)
    written = []
    temperature = models.config.evaluation.prior_temperature if options.prior_temperature is None else options.prior_temperature
    if models.plain is not None:
        images = generate(models, PLAIN, labels, noise)
        written.append(save_grid(images, out / "samples_plain.png", columns))
    if models.disco is None:
        return written
    latents = sample_latents(models.prior, rows * columns, labels, temperature, generator)
    images = generate(models, DISCO, labels, noise, latents, guidance=options.guidance)
    written.append(save_grid(images, out / "samples_disco.png", columns))
    shared = _per_row(latents[::columns], columns)
    images = generate(models, DISCO, labels, noise, shared, guidance=options.guidance)
    written.append(save_grid(images, out / "shared_latent.png", columns))
    if models.config.latents.hierarchical:
        written.append(_mixed_groups_grid(models, out / "mixed_groups.png", options, temperature, generator))
    return written


def _mixed_groups_grid(models: TrainedModels, path: Path, options: GridOptions, temperature: float, generator: torch.Generator) -> Path:
    """Each row: latents a and b, then every combination of their groups (a's group g swapped for
    b's), all from the same noise and class; columns = 2 + number of groups."""
    groups = models.config.latents.groups
    rows = options.rows
    labels = _row_labels(models, options)
    a = sample_latents(models.prior, rows, labels, temperature, generator)
    b = sample_latents(models.prior, rows, labels, temperature, generator)
    columns = [a, b]
    start = 0
    for size in groups:
        mixed = a.clone()
        mixed[:, start : start + size] = b[:, start : start + size]
        columns.append(mixed)
        start += size
    latents = torch.stack(columns, dim=1).flatten(0, 1)
    width = len(columns)
    noise = _noise(models, rows, generator).repeat_interleave(width, dim=0)
    images = generate(models, DISCO, _per_row(labels, width), noise, latents, guidance=options.guidance)
    return save_grid(images, path, width)
