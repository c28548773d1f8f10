"""Can the score model learn? Train it on a few complexes for a fixed budget, then measure how
much of each score component it learned and whether it docks its own training complexes.

* Training: `disco-dock train score`'s code (`docking.training.train`, the loop of `core.fit`)
  on the given complexes (default the four shipped in `posebusters`), with a (partial, nested)
  `DockingConfig` dict, for a number of steps or of CPU seconds (`TrainingConfig.cpu_time_limit`);
  no validation docking during training. The exported model is the EMA's.
* Loss ratios: on fresh noise (`draws` noisy poses per complex and t bucket, t uniform in the
  bucket, fresh pocket jitter), per component (translation, rotation, torsion), the summed
  squared error of the unit-normalised prediction over the summed squared target: 1 is what
  predicting nothing scores, 0 a perfect score. With latents, the encoder's latents of the
  crystal complex condition the model, as in training.
* Self-docking: `samples` poses per complex (`sample_poses`, `sampling_steps` reverse SDE steps,
  oracle latents as above); RMSD (no symmetry correction) of the first pose (top-1) and the best.

`run_overfit` writes `summary.json` and `summary.md` into the run's folder. `measure_model`
(`--model`) skips the training and measures a trained model (a model file, or the latest
checkpoint of a score training run) the same way on other complexes, e.g. held-out ones: then
"self-docking" is docking complexes the model has not seen.
"""

from __future__ import annotations

import functools
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch_geometric.data import Batch

from disco_dock.benchmark.harness import git_commit, machine_info, table_cell
from disco_dock.benchmark.speed import posebusters_dir
from disco_dock.docking.bundle import DockingModel
from disco_dock.docking.config import DockingConfig, SamplingConfig
from disco_dock.docking.data.dataset import ComplexDataset
from disco_dock.docking.data.errors import DataError
from disco_dock.docking.data.preprocess import preprocess_dataset
from disco_dock.docking.diffusion.noising import noise_batch
from disco_dock.docking.sampling import sample_poses
from disco_dock.docking.training import METRICS_FILE, MODEL_FILE, RunPaths, ScoreObjective, train
from disco_dock.docking.training.runs import checkpoint_model
from disco_dock.docking.training.views import SUCCESS_RMSD, ligand_rmsd, training_view

Log = Callable[[str], None]
PRINT: Log = functools.partial(print, flush=True)
"""The default log: progress lines to stdout as they come."""
COMPONENTS = ("translation", "rotation", "torsion")
BUCKETS = ((0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0))
"""Diffusion-time buckets of the loss ratios."""


@dataclass(frozen=True)
class OverfitConfig:
    """One overfit run: what to train on, with which settings, for how long, and how to measure it."""

    out_dir: Path
    """Where `summary.json` and `summary.md` go."""
    settings: dict = field(default_factory=dict)
    """Partial nested `DockingConfig` settings over the defaults (e.g. a *.train.json file's)."""
    steps: int = 0
    """Training steps (0: train for `cpu_seconds` instead; both 0: only measure a given model)."""
    cpu_seconds: float = 0.0
    """CPU seconds of training, when `steps` is 0."""
    data_dir: Path | None = None
    """Complexes to preprocess (default posebusters' four); or give `cache` and `split`."""
    cache: Path | None = None
    split: Path | None = None
    """A split file of the complexes in `cache` to train on."""
    draws: int = 32
    """Noisy poses per complex and t bucket for the loss ratios."""
    samples: int = 10
    sampling_steps: int = 20
    seed: int = 0

    def __post_init__(self):
        if min(self.steps, self.cpu_seconds) < 0 or (self.steps > 0 and self.cpu_seconds > 0):
            raise ValueError(f"give steps or cpu_seconds (> 0), not both: steps={self.steps}, cpu_seconds={self.cpu_seconds}")
        if (self.cache is None) != (self.split is None):
            raise ValueError("give both a cache and a split file, or neither")
        if min(self.draws, self.samples, self.sampling_steps) < 1:
            raise ValueError("draws, samples and sampling_steps must be >= 1")


def training_settings(config: OverfitConfig, num_complexes: int) -> DockingConfig:
    """The run's settings: `config.settings` with the budget, and no validation during training."""
    docking = DockingConfig.from_dict(config.settings)
    if config.steps:
        epochs = math.ceil(config.steps / math.ceil(num_complexes / docking.training.batch_size))
        budget = {"epochs": epochs, "cpu_time_limit": 0.0}
    else:
        budget = {"epochs": 10**9, "cpu_time_limit": config.cpu_seconds}
    return docking.replace(training={**budget, "validation_complexes": 0, "seed": config.seed})


@torch.no_grad()
def loss_ratios(model: DockingModel, complexes: ComplexDataset, draws: int, seed: int) -> dict[str, list[float]]:
    """Per component, the loss / predict-nothing ratio in each of `BUCKETS` (see the module docstring)."""
    config = model.config
    objective = ScoreObjective(model.score, model.encoder, config).eval()
    view_generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    ratios: dict[str, list[float]] = {name: [] for name in COMPONENTS}
    for low, high in BUCKETS:
        errors, targets = torch.zeros(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
        for index in range(len(complexes)):
            batch = Batch.from_data_list([training_view(complexes[index], config, view_generator)] * draws)
            latents = objective.latents(batch, config.training.gumbel_tau)
            t = high - (high - low) * torch.rand(draws)
            noised_batch, noised = noise_batch(batch, config.pose_schedules, t)
            predicted = model.score(noised_batch, noised.sigma_tr, noised.sigma_rot, noised.sigma_tor, latents)
            for part, (prediction, target) in enumerate(zip(predicted, noised.normalised_targets())):
                errors[part] += float(((prediction - target) ** 2).sum())
                targets[part] += float((target**2).sum())
        for part, name in enumerate(COMPONENTS):
            ratios[name].append(float(errors[part] / targets[part]) if targets[part] > 0 else float("nan"))
    return ratios


@torch.no_grad()
def self_dock(model: DockingModel, complexes: ComplexDataset, samples: int, steps: int, seed: int) -> list[dict[str, Any]]:
    """Per complex: the RMSDs of `samples` docked poses, the first (top-1) and the best."""
    config = model.config
    objective = ScoreObjective(model.score, model.encoder, config).eval()
    sampling = SamplingConfig(samples=samples, steps=steps, seed=seed)
    view_generator, generator = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
    results = []
    for index in range(len(complexes)):
        batch = Batch.from_data_list([training_view(complexes[index], config, view_generator)] * samples)
        latents = objective.latents(batch, config.training.gumbel_tau, generator)
        pos = sample_poses(model.score, batch, config.pose_schedules, sampling, latents, batch.centre, generator)
        rmsds = ligand_rmsd(pos, batch).tolist()
        results.append({"complex": complexes.names[index], "top1_rmsd": rmsds[0], "best_rmsd": min(rmsds), "rmsds": rmsds})
    return results


def prepare_data(config: OverfitConfig, folder: Path) -> tuple[Path, Path]:
    """The cache and split to train on: the given ones, or the complexes of `data_dir` (default
    posebusters') preprocessed into `folder`."""
    if config.cache is not None:
        return config.cache, config.split
    data_dir = config.data_dir or posebusters_dir()
    preprocess_dataset(data_dir, folder / "cache", progress=False)
    split = folder / "complexes.txt"
    split.write_text("".join(f"{name}\n" for name in ComplexDataset(folder / "cache").names))
    return folder / "cache", split


def run_overfit(config: OverfitConfig, log: Log = PRINT) -> dict:
    """Train, measure, write `summary.json` and `summary.md` into `config.out_dir`; return the summary."""
    if config.steps == 0 and config.cpu_seconds == 0:
        raise ValueError("give a training budget: steps or cpu_seconds (> 0)")
    torch.manual_seed(config.seed)
    with tempfile.TemporaryDirectory(prefix="disco-dock-overfit-") as folder:
        folder = Path(folder)
        cache, split = prepare_data(config, folder)
        complexes = ComplexDataset(cache, names=split)
        settings = training_settings(config, len(complexes))
        (folder / "config.json").write_text(json.dumps(settings.to_dict()))
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        train("score", RunPaths(cache, split, split, folder / "run"), folder / "config.json", device="cpu")
        train_cpu, train_wall = time.process_time() - start_cpu, time.perf_counter() - start_wall
        records = [json.loads(line) for line in (folder / "run" / METRICS_FILE).read_text().splitlines() if line.strip()]
        model = DockingModel.load(folder / "run" / MODEL_FILE)
        log(f"trained {records[-1]['step']} steps in {train_cpu:.0f} CPU s; measuring")
        training = {
            "settings": settings.to_dict(),
            "steps": records[-1]["step"],
            "train_cpu_s": train_cpu,
            "train_wall_s": train_wall,
            "seconds_per_step": train_wall / max(records[-1]["step"], 1),
        }
        return _measure_and_write(config, model, complexes, training, log)


def load_measured_model(path: Path) -> tuple[DockingModel, str, int | None]:
    """The model at `path` (a model file, or a score training run's folder: its latest
    checkpoint's EMA weights), its name, and its training step when it comes from a run.
    DataError / TrainingError (one line) when there is none."""
    if Path(path).is_dir():
        model, step = checkpoint_model(path)
        return model, str(path), step
    return DockingModel.load(path), str(path), None


def measure_model(config: OverfitConfig, model: DockingModel, name: str, steps: int | None, log: Log = PRINT) -> dict:
    """No training: measure `model` (named `name`, trained `steps` steps when known) on the
    complexes of `config.cache` and `config.split` (e.g. held-out validation complexes); write
    and return the summary."""
    torch.manual_seed(config.seed)
    if config.cache is None:
        raise ValueError("measuring a model needs --cache and --split (the complexes to measure it on)")
    training = {"settings": model.config.to_dict(), "model": name, "steps": steps}
    return _measure_and_write(config, model, ComplexDataset(config.cache, names=config.split), training, log)


def _measure_and_write(config: OverfitConfig, model: DockingModel, complexes: ComplexDataset, training: dict, log: Log) -> dict:
    """Loss ratios by t bucket and self-docking of `model` on `complexes`; the summary, written."""
    summary = {
        "command": sys.argv,
        "git_commit": git_commit(),
        "machine": machine_info(),
        "config": json.loads(json.dumps(asdict(config), default=str)),
        **training,
        "complexes": complexes.names,
        "buckets": [list(bucket) for bucket in BUCKETS],
        "loss_ratios": loss_ratios(model, complexes, config.draws, config.seed),
        "docking": self_dock(model, complexes, config.samples, config.sampling_steps, config.seed),
    }
    summary["markdown"] = overfit_markdown(summary)
    config.out_dir.mkdir(parents=True, exist_ok=True)
    (config.out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (config.out_dir / "summary.md").write_text(summary["markdown"] + "\n")
    log(summary["markdown"])
    return summary


def overfit_markdown(summary: dict) -> str:
    """The loss-ratio table (component by t bucket) and the self-docking table of a summary."""
    docking = summary["docking"]
    under = sum(run["top1_rmsd"] < SUCCESS_RMSD for run in docking)
    if "train_cpu_s" in summary:
        trained = (
            f"{summary['steps']} steps, {table_cell(summary['train_cpu_s'], digits=0)} CPU s "
            f"({table_cell(summary['seconds_per_step'])} wall s per step)"
        )
    else:
        trained = f"model {summary['model']}" + (f" after {summary['steps']} steps" if summary["steps"] else "")
    lines = [
        f"{len(summary['complexes'])} complexes, {trained}; top-1 < 2 A: {under}/{len(docking)}.",
        "",
        "| loss / predict-nothing | " + " | ".join(f"t in ({low}, {high}]" for low, high in summary["buckets"]) + " |",
        "| --- |" + " --- |" * len(summary["buckets"]),
    ]
    for name, ratios in summary["loss_ratios"].items():
        lines.append(f"| {name} | " + " | ".join(table_cell(ratio) for ratio in ratios) + " |")
    lines += ["", "| complex | top-1 RMSD (A) | best RMSD (A) |", "| --- | --- | --- |"]
    lines += [f"| {run['complex']} | {table_cell(run['top1_rmsd'])} | {table_cell(run['best_rmsd'])} |" for run in docking]
    return "\n".join(lines)


def main(argv: list[str] | None, default_out: Path) -> None:
    """Command line of `benchmarks/overfit.py`; bad input: one line on stderr, exit status 2."""
    import argparse

    from disco_dock.benchmark.cli import fail

    parser = argparse.ArgumentParser(
        description="Train the score model on a few complexes for a fixed budget (or take a trained one, --model); loss ratios by t and docking."
    )
    parser.add_argument("name", help="the run's name: results go to OUT/NAME/")
    parser.add_argument("--config", type=Path, help="JSON file of (partial, nested) docking settings")
    parser.add_argument("--model", type=Path, help="measure this model (file, or score run folder) instead of training")
    parser.add_argument("--steps", type=int, default=0, help="training steps")
    parser.add_argument("--cpu-minutes", type=float, default=0.0, help="CPU minutes of training (instead of --steps)")
    parser.add_argument("--data-dir", type=Path, help="complexes to train on (default posebusters' four)")
    parser.add_argument("--cache", type=Path, help="a cache of preprocessed complexes (with --split)")
    parser.add_argument("--split", type=Path, help="split file of the cache's complexes to train on")
    parser.add_argument("--draws", type=int, default=OverfitConfig.draws, help="noisy poses per complex and t bucket (default %(default)s)")
    parser.add_argument("--samples", type=int, default=OverfitConfig.samples, help="docked poses per complex (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=default_out, help=f"results folder (default: {default_out})")
    args = parser.parse_args(argv)
    try:
        if args.model is not None and (args.steps or args.cpu_minutes):
            raise ValueError("--model measures a trained model: give no training budget (--steps, --cpu-minutes) with it")
        if args.model is None and not (args.steps or args.cpu_minutes):
            raise ValueError("give --steps or --cpu-minutes (training), or --model (measure a trained model)")
        settings = json.loads(args.config.read_text()) if args.config else {}
        config = OverfitConfig(
            out_dir=args.out / args.name, settings=settings, steps=args.steps, cpu_seconds=60 * args.cpu_minutes, data_dir=args.data_dir,
            cache=args.cache, split=args.split, draws=args.draws, samples=args.samples, seed=args.seed,
        )  # fmt: skip
        training_settings(config, 1)
        model = load_measured_model(args.model) if args.model is not None else None
    except (OSError, ValueError, DataError) as error:
        fail(error)
    if model is None:
        run_overfit(config)
    else:
        measure_model(config, *model)
