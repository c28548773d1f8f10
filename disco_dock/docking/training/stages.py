"""The three training stages (see the package's docstring) and `train`, which runs one of them."""

from __future__ import annotations

import dataclasses
import functools
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import nn
from torch.utils.data import DataLoader as ItemLoader
from torch_geometric.data import Dataset
from torch_geometric.loader import DataLoader
from tqdm.auto import tqdm

from disco_dock.core.distributed import Processes, ShardedBatches, processes
from disco_dock.core.fit import FitSettings, Task, fit
from disco_dock.core.training import seed_everything
from disco_dock.docking.bundle import DockingModel, build_confidence, build_prior
from disco_dock.docking.config import DockingConfig, TrainingConfig
from disco_dock.docking.data.dataset import ComplexDataset
from disco_dock.docking.data.preprocess import preprocess_dataset
from disco_dock.docking.training.confidence_poses import DockedPools, DockedPoses, dock_for_confidence, pose_file, poses_from_decoys
from disco_dock.docking.training.objectives import ConfidenceObjective, PriorObjective, ScoreObjective
from disco_dock.docking.training.runs import (
    CONFIG_FILE,
    METRICS_FILE,
    MODEL_FILE,
    POSES_DIR,
    STAGES,
    RunPaths,
    TrainingError,
    complexes,
    require_same_networks,
    resolve_config,
)
from disco_dock.docking.training.validation import validate_confidence, validate_docking, validate_prior
from disco_dock.docking.training.views import TrainingViews


def settings(training: TrainingConfig, epochs: int, **changes: Any) -> FitSettings:
    """The settings every stage shares (Adam's, clipping, seed, CPU-time limit) for `epochs` epochs, with `changes`."""
    return FitSettings(
        training.lr, epochs, training.weight_decay, training.grad_clip, seed=training.seed, cpu_time_limit=training.cpu_time_limit, **changes
    )


def fit_stage(
    name: str,
    objective: nn.Module,
    train_set: Dataset,
    fit_settings: FitSettings,
    validate: Callable[[nn.Module], dict[str, float]],
    config: DockingConfig,
    paths: RunPaths,
    procs: Processes,
    pools: bool = False,
    **task: Any,
) -> nn.Module:
    """Train a stage's `objective` on `train_set` with `core.fit`: the checkpoint `RUN_DIR/<name>.ckpt`
    (refused when written for other networks), one record per epoch in metrics.jsonl and on the
    terminal, `validate` unless `validation_complexes` is 0; `task`: more `Task` fields. With
    `pools`, each item of `train_set` is already a batch (`DockedPools`), one per step. Returns the
    objective to keep (the EMA's if any)."""
    training = config.training
    if pools:
        batches = ShardedBatches(train_set, 1, training.seed, procs, loader=functools.partial(ItemLoader, collate_fn=_only_item))
    else:
        batches = ShardedBatches(train_set, training.batch_size, training.seed, procs, loader=DataLoader)
    stage = Task(
        name,
        objective.to(procs.device),
        batches,
        paths.run_dir / f"{name}.ckpt",
        fit_settings,
        config=config.to_dict(),
        check_config=lambda saved, path: require_same_networks(DockingConfig.from_stored(saved), config, path),
        validate=validate if training.validation_complexes > 0 else None,
        metrics=paths.run_dir / METRICS_FILE,
        report=tqdm.write,
        **task,
    )
    return fit(stage, procs)


def _only_item(items: list[Any]) -> Any:
    """The collation of batches of one item that is already a batch."""
    return items[0]


def train_score(config: DockingConfig, paths: RunPaths, procs: Processes) -> None:
    """Stage 1: train the score model and latent encoder; export the EMA weights to model.pt."""
    bundle = DockingModel.build(config)
    if paths.init_from is not None and not (paths.run_dir / "score.ckpt").exists():
        start = DockingModel.load(paths.source_model)
        require_same_networks(start.config, config, paths.source_model)
        bundle.score.load_state_dict(start.score.state_dict())
        if bundle.encoder is not None:
            bundle.encoder.load_state_dict(start.encoder.state_dict())
    objective = ScoreObjective(bundle.score, bundle.encoder, config)
    val_set = complexes(paths.cache, paths.val_split)
    training = config.training
    trained = fit_stage(
        "score",
        objective,
        ComplexDataset(paths.cache, paths.train_split, transform=TrainingViews(config)),
        settings(
            training, training.epochs, ema_decay=training.ema_decay or None, ema_warmup=training.ema_warmup, validate_every=training.validate_every
        ),
        lambda trained: validate_docking(trained, val_set, config, procs.device),
        config,
        paths,
        procs,
    )
    if procs.is_main:
        DockingModel(config, trained.score, trained.encoder).cpu().save(paths.model_file)


def train_prior(config: DockingConfig, paths: RunPaths, procs: Processes) -> None:
    """Stage 2: train the pointer prior on the encoder's latents; add it to model.pt."""
    model = DockingModel.load(paths.source_model)
    if model.encoder is None:
        raise TrainingError(f"{paths.source_model} has no latents (num_latents=0): there is no prior to train")
    prior = build_prior(config)
    prior.load_trunk_from(model.score)
    val_set = complexes(paths.cache, paths.val_split)
    training = config.training
    trained = fit_stage(
        "prior",
        PriorObjective(prior, model.encoder),
        ComplexDataset(paths.cache, paths.train_split, transform=TrainingViews(config)),
        settings(training, training.prior_epochs),
        lambda trained: validate_prior(trained, val_set, config, procs.device),
        config,
        paths,
        procs,
        parameters=list(prior.parameters()),
        before_epoch=lambda epoch: prior.freeze_trunk(epoch < training.prior_frozen_epochs),
    )
    if procs.is_main:
        model.prior = trained.prior
        model.cpu().save(paths.model_file)


CONFIDENCE_FIELDS = tuple(field.name for field in dataclasses.fields(TrainingConfig) if field.name.startswith("confidence_"))
"""Stage 3's settings that the bundle stores over its starting model's training settings (the
others, e.g. `lr` and `batch_size`, stay those of the earlier stages): how the confidence model
was trained and, by `confidence_vina_weight`, how it ranks."""


def train_confidence(config: DockingConfig, paths: RunPaths, procs: Processes) -> None:
    """Stage 3: the confidence model learns the success labels of poses of the training complexes
    (docked by the run's model, or, with `paths.decoys`, the decoys' candidate pools), validated
    on those of validation complexes; it is added to model.pt."""
    model = DockingModel.load(paths.source_model, procs.device)
    train_set, val_set = complexes(paths.cache, paths.train_split), complexes(paths.cache, paths.val_split)
    training = config.training
    if training.confidence_pool_loss and not paths.decoys:
        raise TrainingError("confidence_pool_loss needs candidate pools: give --decoys")
    val_count = min(training.validation_complexes, len(val_set))
    train_count = min(training.confidence_complexes or len(train_set), len(train_set))
    if train_count < len(train_set):
        warnings.warn(f"the confidence model learns from the first {train_count} of the {len(train_set)} training complexes (confidence_complexes)", stacklevel=2)
    kind = "-decoys" if paths.decoys else ""  # docked poses and decoy pools never share a folder
    folders = {split: paths.run_dir / POSES_DIR / f"{split}{kind}" for split in ("train", "val")}
    if paths.decoys:
        if procs.is_main:
            poses_from_decoys(train_set, train_count, paths.decoys, folders["train"], config, training.confidence_crystal_refined)
            poses_from_decoys(val_set, val_count, paths.decoys, folders["val"], config, crystal_refined=False)
        procs.barrier()
        train_names, val_names = _pose_names(folders["train"], train_set, train_count), _pose_names(folders["val"], val_set, val_count)
        for split, names in (("training", train_names), ("validation", val_names)):
            if not names:
                raise TrainingError(f"no decoys of the {split} complexes in {', '.join(map(str, paths.decoys))}")
    else:
        dock_for_confidence(model, train_set, train_count, folders["train"], procs)
        dock_for_confidence(model, val_set, val_count, folders["val"], procs)
        train_names, val_names = train_set.names[:train_count], val_set.names[:val_count]
    val_poses = DockedPoses(val_set, val_names, folders["val"], config)
    train_poses = DockedPoses(train_set, train_names, folders["train"], config)
    pools = training.confidence_pool_loss > 0
    confidence = build_confidence(config)
    if training.confidence_trunk_from_score:
        confidence.trunk.copy_from(model.score.trunk)
    trained = fit_stage(
        "confidence",
        ConfidenceObjective(confidence, training.confidence_pool_loss, training.confidence_vina_weight),
        DockedPools(train_poses) if pools else train_poses,
        settings(training, training.confidence_epochs),
        lambda trained: validate_confidence(trained, val_poses, training.batch_size, procs.device),
        config,
        paths,
        procs,
        pools=pools,
    )
    if procs.is_main:
        model.confidence = trained.confidence
        model.config = model.config.replace(training={field: getattr(training, field) for field in CONFIDENCE_FIELDS})
        model.cpu().save(paths.model_file)


def _pose_names(folder: Path, dataset: ComplexDataset, count: int) -> list[str]:
    """The first `count` complexes of `dataset` that have a pose file in `folder`, in the dataset's order."""
    return [name for name in dataset.names[:count] if pose_file(folder, name).exists()]


STAGE_RUNNERS = {"score": train_score, "prior": train_prior, "confidence": train_confidence}


def train(
    stage: str,
    paths: RunPaths,
    config_file: Path | None = None,
    mode: str | None = None,
    epochs: int | None = None,
    device: str = "auto",
    data_dir: Path | None = None,
) -> DockingConfig:
    """Run one training stage (see the package's docstring); returns the settings it ran with.

    With `data_dir`, complexes of the splits missing from the cache are preprocessed first.
    TrainingError / DataError on bad input.
    """
    if stage not in STAGE_RUNNERS:
        raise TrainingError(f"unknown stage {stage!r}: use one of {', '.join(STAGES)}")
    if paths.init_from is not None and not (paths.init_from / MODEL_FILE).is_file():
        raise TrainingError(f"{paths.init_from}: no {MODEL_FILE} to start from")
    with processes(device) as procs:
        config = resolve_config(stage, paths, config_file, mode, epochs)
        if data_dir is not None and procs.is_main:
            for split in (paths.train_split, paths.val_split):
                preprocess_dataset(data_dir, paths.cache, ids=split, config=config.data, graph_config=config.model.graph)
        procs.barrier()
        for split in (paths.train_split, paths.val_split):
            complexes(paths.cache, split)
        seed_everything(config.training.seed + procs.rank)
        if procs.is_main:
            paths.run_dir.mkdir(parents=True, exist_ok=True)
            (paths.run_dir / CONFIG_FILE).write_text(json.dumps(config.to_dict(), indent=2) + "\n")
        STAGE_RUNNERS[stage](config, paths, procs)
    return config
