"""A training run's files and settings: the run folder's layout, the settings a stage runs with
(a config file, the run's own config.json, the starting model's), and the network settings that a
resumed or continued run must share with what it continues."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from disco_dock.docking.bundle import DockingModel
from disco_dock.docking.config import DockingConfig
from disco_dock.docking.data.dataset import ComplexDataset

STAGES = ("score", "prior", "confidence")
EPOCH_FIELDS = {"score": "epochs", "prior": "prior_epochs", "confidence": "confidence_epochs"}
"""The `TrainingConfig` field that holds each stage's number of epochs."""
MODEL_FILE = "model.pt"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
POSES_DIR = "confidence_poses"
NETWORK_SETTINGS = ("mode", "model", "schedules", "pocket")
"""The parts of a `DockingConfig` that a resumed or continued run must share with its checkpoint."""


class TrainingError(ValueError):
    """Bad input to a training run (one line, for the command line)."""


@dataclass(frozen=True)
class RunPaths:
    """The files of a training run: the data, the run folder and an optional model to start from."""

    cache: Path
    train_split: Path
    val_split: Path
    run_dir: Path
    init_from: Path | None = None
    decoys: tuple[Path, ...] = ()
    """Folders of `disco-dock decoys`: the confidence stage learns from their candidate pools
    instead of docking poses with the run's model."""

    @property
    def model_file(self) -> Path:
        """`RUN_DIR/model.pt`."""
        return self.run_dir / MODEL_FILE

    @property
    def source_model(self) -> Path:
        """The model a stage after the first starts from: `--init-from`'s, else this run's."""
        return (self.init_from or self.run_dir) / MODEL_FILE


def complexes(cache: Path, split: Path) -> ComplexDataset:
    """The complexes of `split` in `cache`; TrainingError when none of them is there."""
    dataset = ComplexDataset(cache, names=split)
    if len(dataset) == 0:
        raise TrainingError(f"{split}: none of its complexes is in the cache {cache}")
    return dataset


def require_same_networks(saved: DockingConfig, config: DockingConfig, path: Path) -> None:
    """TrainingError unless `saved` (the settings stored in `path`) has `config`'s network settings."""
    found, wanted = saved.to_dict(), config.to_dict()
    different = [key for key in NETWORK_SETTINGS if found[key] != wanted[key]]
    if different:
        raise TrainingError(f"{path} was trained with other {', '.join(different)} settings: use another --out folder")


def read_config_file(path: Path, stored: bool = False) -> DockingConfig:
    """A `DockingConfig` from a JSON file of (possibly partial) nested settings over the defaults,
    or, `stored` (a run's own config.json), with the `LEGACY` values of settings it lacks."""
    try:
        values = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise TrainingError(f"{path}: cannot read the config ({error})") from None
    try:
        return DockingConfig.from_stored(values) if stored else DockingConfig.from_dict(values)
    except ValueError as error:  # ConfigError: an unknown or badly typed setting, named by its path
        raise TrainingError(f"{path}: bad settings ({error})") from None


def resolve_config(stage: str, paths: RunPaths, config_file: Path | None, mode: str | None, epochs: int | None) -> DockingConfig:
    """The settings of a run: `config_file`, else the run's own config.json, else (stages after
    the first) the starting model's, else the defaults; then `mode` and the stage's `epochs`.
    After the first stage the networks' settings always come from the starting model."""
    own = paths.run_dir / CONFIG_FILE
    start = DockingModel.load(paths.source_model).config if stage != "score" else None
    if config_file is not None:
        config = read_config_file(config_file)
    elif own.exists():
        config = read_config_file(own, stored=True)
    else:
        config = start or DockingConfig()
    if mode is not None:
        config = config.replace(mode=mode)
    if start is not None:
        if config.mode != start.mode:
            raise TrainingError(f"{paths.source_model} docks in {start.mode} mode, not {config.mode}")
        config = start.replace(training=config.training)
    if epochs is not None:
        config = config.replace(training={EPOCH_FIELDS[stage]: epochs})
    return config


def checkpoint_model(run_dir: Path) -> tuple[DockingModel, int]:
    """The model a score run in progress would export now (score model and latent encoder, no
    prior or confidence model), and the training step it was saved at: the run's settings
    (`config.json`) with the EMA weights (or, without an EMA, the weights) of its latest
    `score.ckpt`. TrainingError (one line) when there is no readable checkpoint."""
    import torch

    from disco_dock.docking.training.objectives import ScoreObjective

    checkpoint = Path(run_dir) / "score.ckpt"
    if not checkpoint.is_file():
        raise TrainingError(f"{run_dir}: no score.ckpt (not a score training run, or not started)")
    config = read_config_file(Path(run_dir) / CONFIG_FILE, stored=True)
    built = DockingModel.build(config)
    model = DockingModel(config, built.score, built.encoder)
    try:
        payload = torch.load(checkpoint, map_location="cpu", weights_only=False)
        if payload.get("ema") is not None:  # the EMA module holds the objective as its `model`
            weights = {key.removeprefix("model."): value for key, value in payload["ema"].items()}
        else:
            weights = payload["model"]
        ScoreObjective(model.score, model.encoder, config).load_state_dict(weights)
    except Exception as error:  # torch raises pickle, zip, key and shape errors on bad checkpoints
        raise TrainingError(f"{checkpoint}: not a score checkpoint of this run's networks ({type(error).__name__})") from None
    return model.eval(), payload["step"]
