"""Training of DisCo-DiffDock in three stages, on one device or several (torch DDP under `torchrun`).

What `disco-dock train STAGE` runs:

* `score` (stage 1): the score model and, with latents (`num_latents` > 0), the latent encoder,
  end to end: the encoder reads the crystal complex, its straight-through Gumbel-softmax
  latents (dropped per complex with probability `latent_dropout`) condition the score model
  on the noised pose, and the denoising score-matching loss trains both. `num_latents` = 0 is
  plain DiffDock by the same code. Validation docks validation complexes with the EMA weights
  and reports the fraction of top-1 poses (the first sample) under 2 A and their median RMSD,
  with the encoder's latents of the crystal pose ("oracle-latent": no prior exists yet) and
  with null latents. Exports the EMA score model and encoder as `RUN_DIR/model.pt`.
* `prior` (stage 2): the pointer prior learns the encoder's latents from the complex with the
  ligand's conformer placed at the protein (blind) or pocket centre in a random orientation
  and with random torsions (it sees no docked pose; torsions are randomised because the
  cached conformer's were matched to the crystal pose). Targets are soft: the encoder's
  per-complex softmax over nodes, whose cross-entropy equals in expectation that of one-hot
  Gumbel samples of the encoder (their forward value does not depend on the Gumbel
  temperature), with less variance, so no labelling temperature is needed. The trunk
  starts from the score model's and is frozen for `prior_frozen_epochs`. Adds the prior to
  `model.pt`.
* `confidence` (stage 3): `confidence_samples` poses per training complex are docked with the
  score model and prior latents, cached one file per complex under `RUN_DIR/confidence_poses/`
  (a crashed run keeps them), labelled RMSD < 2 A, and a `ConfidenceModel` learns the label
  with binary cross-entropy. Adds the confidence model to `model.pt`.

Pocket mode crops every complex around its crystal ligand's centroid plus N(0, jitter^2) noise
per axis (`PocketConfig`), the pocket centre of inference. Every stage checkpoints after each
epoch and on KeyboardInterrupt (`RUN_DIR/<stage>.ckpt`: weights, optimizer, EMA, epoch, batches
done in the epoch, RNG states), so running the same command again continues exactly as an
uninterrupted run would. `RUN_DIR/metrics.jsonl` gets one record per epoch (training loss
parts, validation metrics); `RUN_DIR/config.json` the settings in effect. Under `torchrun`,
each process trains on its share of each epoch (gloo on CPUs, NCCL on GPUs) and only rank 0
validates and writes files.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler
from torch_geometric.data import Batch, Dataset, HeteroData
from torch_geometric.loader import DataLoader
from torch_geometric.utils import scatter
from tqdm.auto import tqdm

from disco_dock.core.latents import segment_gumbel_softmax_st, segment_softmax
from disco_dock.core.training import (
    EMA,
    MetricsLog,
    load_checkpoint,
    pick_device,
    progress,
    rng_state,
    save_checkpoint,
    seed_everything,
    set_rng_state,
)
from disco_dock.docking.bundle import DockingModel, build_confidence, build_prior
from disco_dock.docking.config import POCKET, DockingConfig, SamplingConfig
from disco_dock.docking.data.dataset import ComplexDataset
from disco_dock.docking.data.graph import LIGAND, RECEPTOR
from disco_dock.docking.data.preprocess import preprocess_dataset
from disco_dock.docking.diffusion.noising import noise_batch, score_matching_loss
from disco_dock.docking.diffusion.poses import place_ligands
from disco_dock.docking.model.confidence import ConfidenceModel
from disco_dock.docking.model.encoder import LatentEncoder
from disco_dock.docking.model.graph import count_graphs, node_graph
from disco_dock.docking.model.prior import PointerPrior
from disco_dock.docking.model.score import ScoreModel
from disco_dock.docking.pocket import crop_to_pocket
from disco_dock.docking.sampling import sample_poses

STAGES = ("score", "prior", "confidence")
MODEL_FILE = "model.pt"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
POSES_DIR = "confidence_poses"
SUCCESS_RMSD = 2.0
"""A docked pose is a success (confidence label 1) below this RMSD to the crystal pose (A)."""
NETWORK_SETTINGS = ("mode", "model", "schedules", "pocket")
"""The parts of a `DockingConfig` that a resumed or continued run must share with its checkpoint."""


class TrainingError(ValueError):
    """Bad input to a training run (one line, for the command line)."""


# ----------------------------------------------------------------------------- processes and data


@dataclass(frozen=True)
class Processes:
    """Where this process trains: its rank among `world_size` DDP processes, and its device."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that validates and writes files."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait for every process (nothing to do alone)."""
        if self.world_size > 1:
            dist.barrier()

    def mean(self, values: dict[str, float]) -> dict[str, float]:
        """`values` averaged over the processes."""
        if self.world_size == 1 or not values:
            return values
        tensor = torch.tensor(list(values.values()), dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return dict(zip(values, (tensor / self.world_size).tolist()))


@contextmanager
def processes(device: str = "auto") -> Iterator[Processes]:
    """This process's place in a `torchrun` launch (env WORLD_SIZE, RANK, LOCAL_RANK; NCCL on
    CUDA, gloo otherwise), or a single process on `device`; the process group is closed after."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    chosen = pick_device(device)
    if world_size == 1:
        yield Processes(0, 1, chosen)
        return
    if chosen.type == "cuda":
        chosen = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(chosen)
    dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo", timeout=timedelta(hours=2))
    try:
        yield Processes(dist.get_rank(), world_size, chosen)
    finally:
        dist.destroy_process_group()


def complexes(cache: Path, split: Path) -> ComplexDataset:
    """The complexes of `split` in `cache`; TrainingError when none of them is there."""
    dataset = ComplexDataset(cache, names=split)
    if len(dataset) == 0:
        raise TrainingError(f"{split}: none of its complexes is in the cache {cache}")
    return dataset


def training_view(graph: HeteroData, config: DockingConfig, generator: torch.Generator | None = None) -> HeteroData:
    """The complex as a stage sees it, with its docking centre `centre` (1, 3): the receptor's
    CA centroid (blind), or (pocket) the crystal ligand's centroid plus N(0, jitter^2 I), the
    receptor then cropped around it."""
    if config.mode != POCKET:
        graph.centre = graph[RECEPTOR].pos.mean(dim=0, keepdim=True)
        return graph
    jitter = config.pocket.training_jitter * torch.randn(3, generator=generator)
    centre = graph[LIGAND].crystal_pos.mean(dim=0) + jitter.to(graph[LIGAND].crystal_pos)
    graph = crop_to_pocket(graph, centre, config.pocket.radius)
    graph.centre = centre[None]
    return graph


class TrainingViews:
    """Dataset transform: `training_view` with the global random generator (replayed on resume)."""

    def __init__(self, config: DockingConfig):
        self.config = config

    def __call__(self, graph: HeteroData) -> HeteroData:
        return training_view(graph, self.config)


def epoch_batches(dataset: Dataset, batch_size: int, seed: int, epoch: int, procs: Processes, skip: int = 0) -> DataLoader:
    """This process's batches of `epoch`: a shuffle fixed by (seed, epoch), split across the
    processes as `DistributedSampler` does, without its first `skip` batches (a resumed epoch)."""
    sampler = DistributedSampler(dataset, num_replicas=procs.world_size, rank=procs.rank, shuffle=True, seed=seed)
    sampler.set_epoch(epoch)
    indices = list(sampler)[skip * batch_size :]
    return DataLoader(dataset, batch_size=batch_size, sampler=indices, generator=torch.Generator())  # global RNG untouched


def ligand_rmsd(pos: Tensor, batch: HeteroData) -> Tensor:
    """(G,) heavy-atom RMSD (no symmetry correction) of ligand positions `pos` to `crystal_pos`."""
    squared = ((pos - batch[LIGAND].crystal_pos) ** 2).sum(dim=-1)
    return scatter(squared, node_graph(batch, LIGAND), dim=0, dim_size=count_graphs(batch), reduce="mean").sqrt()


def placed_at_centre(batch: HeteroData, generator: torch.Generator | None = None) -> HeteroData:
    """A copy of `batch` whose ligand conformers sit at their complexes' `centre` with random
    orientations and torsions (`place_ligands`): the prior's input, which shows no pose."""
    placed = copy.copy(batch)
    placed[LIGAND].pos = place_ligands(batch, batch.centre, generator)
    return placed


def generators(seed: int, device: torch.device) -> tuple[torch.Generator, torch.Generator]:
    """A CPU generator (for graph views) and one on `device` (for sampling), both seeded with `seed`."""
    return torch.Generator().manual_seed(seed), torch.Generator(device).manual_seed(seed)


# ----------------------------------------------------------------------------- what each stage minimises


class ScoreObjective(nn.Module):
    """Stage 1: the score model and (with latents) the latent encoder; `forward(batch)` gives
    the denoising score-matching loss and its parts."""

    def __init__(self, score: ScoreModel, encoder: LatentEncoder | None, config: DockingConfig):
        super().__init__()
        self.score, self.encoder, self.config = score, encoder, config

    def latents(self, batch: HeteroData, tau: float, generator: torch.Generator | None = None) -> Tensor | None:
        """Straight-through Gumbel-softmax latents of the encoder on the crystal complexes (None without latents)."""
        if self.encoder is None:
            return None
        logits, segment = self.encoder(batch)
        return segment_gumbel_softmax_st(logits, segment, count_graphs(batch), tau, generator)

    def forward(self, batch: HeteroData) -> tuple[Tensor, dict[str, Tensor]]:
        training = self.config.training
        latents = self.latents(batch, training.gumbel_tau)
        dropped = None if latents is None else torch.rand(count_graphs(batch), device=latents.device) < training.latent_dropout
        noised_batch, noised = noise_batch(batch, self.config.pose_schedules)
        scores = self.score(noised_batch, noised.sigma_tr, noised.sigma_rot, noised.sigma_tor, latents, dropped)
        return score_matching_loss(*scores, noised)


class PriorObjective(nn.Module):
    """Stage 2: the cross-entropy of the pointer prior, shown the complex without its pose,
    against the (fixed) encoder's soft latents of the crystal complex."""

    def __init__(self, prior: PointerPrior, encoder: LatentEncoder):
        super().__init__()
        self.prior, self.encoder = prior, encoder.requires_grad_(False)

    def train(self, mode: bool = True) -> "PriorObjective":
        """Training mode for the prior; the encoder stays in eval mode."""
        super().train(mode)
        self.encoder.eval()
        return self

    def targets(self, batch: HeteroData) -> Tensor:
        """(N_lig + N_rec, m) the encoder's per-complex node probabilities of each latent."""
        with torch.no_grad():
            logits, segment = self.encoder(batch)
            return segment_softmax(logits, segment, count_graphs(batch))

    def nll(self, batch: HeteroData, generator: torch.Generator | None = None) -> Tensor:
        """Mean over complexes of the prior's cross-entropy to the targets (nats)."""
        return self.prior.loss(placed_at_centre(batch, generator), self.targets(batch))

    def forward(self, batch: HeteroData) -> tuple[Tensor, dict[str, Tensor]]:
        loss = self.nll(batch)
        return loss, {"nll": loss}


class ConfidenceObjective(nn.Module):
    """Stage 3: binary cross-entropy of the confidence model on docked poses (label `success`)."""

    def __init__(self, confidence: ConfidenceModel):
        super().__init__()
        self.confidence = confidence

    def forward(self, batch: HeteroData) -> tuple[Tensor, dict[str, Tensor]]:
        loss = self.confidence.loss(batch, batch.success)
        return loss, {"bce": loss}


# ----------------------------------------------------------------------------- the loop shared by the stages


@dataclass
class Stage:
    """One stage for `fit`: its objective (forward(batch) -> (loss, parts)), the parameters the
    optimizer updates, its data and epochs, an optional EMA, validation and per-epoch hook."""

    name: str
    objective: nn.Module
    parameters: list[nn.Parameter]
    train_set: Dataset
    epochs: int
    ema_decay: float | None = None
    validate: Callable[[nn.Module], dict[str, float]] | None = None
    """Metrics of the objective to evaluate (the EMA's when there is one), on rank 0."""
    validate_every: int = 1
    before_epoch: Callable[[int], None] | None = None


def _compatible(saved: dict, config: DockingConfig, path: Path) -> None:
    """TrainingError unless `saved` (a config dict) has `config`'s network settings."""
    wanted = config.to_dict()
    different = [key for key in NETWORK_SETTINGS if saved.get(key) != wanted[key]]
    if different:
        raise TrainingError(f"{path} was trained with other {', '.join(different)} settings: use another --out folder")


def _summary(stage: str, epoch: int, epochs: int, record: dict) -> str:
    """One line per epoch: the metrics of `record` other than bookkeeping."""
    shown = {key: value for key, value in record.items() if key not in ("stage", "epoch", "step", "time")}
    return f"{stage} epoch {epoch}/{epochs}: " + ", ".join(f"{key} {value:.4g}" for key, value in shown.items())


def fit(stage: Stage, config: DockingConfig, run_dir: Path, procs: Processes, log: Callable[[str], None] = tqdm.write) -> nn.Module:
    """Train `stage` with Adam, gradient clipping and (optionally) an EMA, resuming from
    `RUN_DIR/<stage>.ckpt` when it exists; returns the objective to keep (the EMA's if any).

    The checkpoint is written after every epoch (after validation) and when the run is
    interrupted with KeyboardInterrupt mid-epoch (with the batches done, the sums of the
    epoch's losses and the generators' states before the unfinished batch), so that a resumed
    run replays the rest exactly.
    """
    training = config.training
    objective = stage.objective.to(procs.device)
    optimizer = torch.optim.Adam(stage.parameters, lr=training.lr, weight_decay=training.weight_decay)
    ema = EMA(objective, stage.ema_decay) if stage.ema_decay else None
    checkpoint = run_dir / f"{stage.name}.ckpt"
    state = {"epoch": 0, "batches": 0, "step": 0, "sums": {}}
    if checkpoint.exists():
        loaded = load_checkpoint(checkpoint, objective, optimizer, ema)  # on the CPU: RNG states must stay there
        _compatible(loaded.config, config, checkpoint)
        state = loaded.extra
    if procs.rank:  # the others' generators: their own, also after a resume from rank 0's checkpoint
        seed_everything(training.seed + 1000 * state["step"] + procs.rank)
    metrics = MetricsLog(run_dir / METRICS_FILE) if procs.is_main else None

    def save() -> None:
        if procs.is_main:
            save_checkpoint(checkpoint, objective, optimizer, state["step"], config.to_dict(), ema, extra=state)

    for epoch in range(state["epoch"], stage.epochs):
        if stage.before_epoch is not None:
            stage.before_epoch(epoch)
        model = objective
        if procs.world_size > 1:  # built per epoch: the parameters that train may change (a frozen trunk)
            device_ids = [procs.device] if procs.device.type == "cuda" else None
            model = DistributedDataParallel(objective, device_ids=device_ids, find_unused_parameters=True)
        objective.train()
        loader = epoch_batches(stage.train_set, training.batch_size, training.seed, epoch, procs, skip=state["batches"])
        bar = progress(total=state["batches"] + len(loader), initial=state["batches"], desc=f"{stage.name} {epoch + 1}/{stage.epochs}", disable=not procs.is_main)
        start, steps = time.perf_counter(), 0
        before_batch = rng_state()  # the batch's view may draw random numbers: resume from before it
        try:
            for batch in loader:
                loss, parts = model(batch.to(procs.device))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(stage.parameters, training.grad_clip)
                optimizer.step()
                if ema is not None:
                    ema.update(objective)
                for key, value in {"loss": loss, **parts}.items():
                    state["sums"][key] = state["sums"].get(key, 0.0) + float(value.detach())
                state["batches"] += 1
                state["step"] += 1
                before_batch = rng_state()
                steps += 1
                bar.update(1)
                bar.set_postfix(loss=f"{float(loss.detach()):.3f}", refresh=False)
        except KeyboardInterrupt:
            set_rng_state(before_batch)
            save()
            raise
        finally:
            bar.close()
        record = {"stage": stage.name, "epoch": epoch + 1}
        record.update(procs.mean({key: total / max(state["batches"], 1) for key, total in state["sums"].items()}))
        record["seconds_per_step"] = (time.perf_counter() - start) / max(steps, 1)
        due = (epoch + 1) % stage.validate_every == 0 or epoch + 1 == stage.epochs
        if procs.is_main and stage.validate is not None and due and training.validation_complexes > 0:
            record.update(stage.validate(objective if ema is None else ema.model))
        state = {"epoch": epoch + 1, "batches": 0, "step": state["step"], "sums": {}}
        save()
        if metrics is not None:
            metrics.log(state["step"], **record)
            log(_summary(stage.name, epoch + 1, stage.epochs, record))
        procs.barrier()
    return objective if ema is None else ema.model


# ----------------------------------------------------------------------------- validation


def _fraction(values: Tensor) -> float:
    return float(values.float().mean()) if len(values) else float("nan")


@torch.no_grad()
def validate_docking(objective: ScoreObjective, val_set: ComplexDataset, config: DockingConfig, device: torch.device) -> dict[str, float]:
    """Dock up to `validation_complexes` validation complexes, `validation_samples` poses each:
    fraction of top-1 (first) poses under 2 A, their median RMSD, and the fraction of complexes
    with any pose under 2 A; with the encoder's latents of the crystal pose ("oracle-latent")
    and null latents, or for a model without latents ("plain"). Fixed seed: comparable across epochs."""
    training = config.training
    sampling = SamplingConfig(samples=training.validation_samples)
    view_generator, generator = generators(training.seed, device)
    objective.eval()
    rmsds: dict[str, list[Tensor]] = {}
    for index in progress(range(min(training.validation_complexes, len(val_set))), desc="validation"):
        graph = training_view(val_set[index], config, view_generator)
        batch = Batch.from_data_list([graph] * sampling.samples).to(device)
        runs = {"plain": None} if objective.encoder is None else {
            "oracle-latent": objective.latents(batch, training.gumbel_tau, generator),
            "null-latent": None,
        }  # fmt: skip
        for label, latents in runs.items():
            pos = sample_poses(objective.score, batch, config.pose_schedules, sampling, latents, batch.centre, generator)
            rmsds.setdefault(label, []).append(ligand_rmsd(pos, batch).cpu())
    results = {}
    for label, per_complex in rmsds.items():
        table = torch.stack(per_complex)  # (complexes, samples)
        results[f"val_{label}_top1_2A"] = _fraction(table[:, 0] < SUCCESS_RMSD)
        results[f"val_{label}_top1_median_rmsd"] = float(table[:, 0].median())
        results[f"val_{label}_best_2A"] = _fraction((table < SUCCESS_RMSD).any(dim=1))
    return results


@torch.no_grad()
def validate_prior(objective: PriorObjective, val_set: ComplexDataset, config: DockingConfig, device: torch.device) -> dict[str, float]:
    """Mean cross-entropy (nats) of the prior to the encoder's latents on up to
    `validation_complexes` validation complexes, next to its lower bound (the entropy of the
    encoder's latents) and that of a uniform choice of nodes."""
    view_generator, generator = generators(config.training.seed, device)
    objective.eval()
    nll, entropy, uniform = [], [], []
    for index in range(min(config.training.validation_complexes, len(val_set))):
        batch = Batch.from_data_list([training_view(val_set[index], config, view_generator)]).to(device)
        nll.append(float(objective.nll(batch, generator)))
        targets = objective.targets(batch)
        entropy.append(float(-(targets * targets.clamp_min(1e-30).log()).sum()))
        uniform.append(config.model.num_latents * float(np.log(batch[LIGAND].num_nodes + batch[RECEPTOR].num_nodes)))
    return {"val_nll": float(np.mean(nll)), "val_target_entropy": float(np.mean(entropy)), "val_uniform_nll": float(np.mean(uniform))}


@torch.no_grad()
def validate_confidence(objective: ConfidenceObjective, poses: "DockedPoses", batch_size: int, device: torch.device) -> dict[str, float]:
    """On docked validation poses: accuracy of "logit > 0", the fraction of (success, failure)
    pose pairs where the success scores higher (AUROC; ties count half), and the fraction of
    complexes whose most confident pose is a success, next to that of their first pose."""
    objective.eval()
    logits, labels = [], []
    for batch in DataLoader(poses, batch_size=batch_size):
        batch = batch.to(device)
        logits.append(objective.confidence(batch).cpu())
        labels.append(batch.success.cpu())
    logit, label = torch.cat(logits), torch.cat(labels).bool()
    positive, negative = logit[label], logit[~label]
    pairs = (positive[:, None] > negative[None, :]).float() + 0.5 * (positive[:, None] == negative[None, :]).float()
    per_complex = logit.view(-1, poses.samples)
    success = label.view(-1, poses.samples)
    chosen = success.gather(1, per_complex.argmax(dim=1, keepdim=True))
    return {
        "val_accuracy": _fraction((logit > 0) == label),
        "val_auroc": float(pairs.mean()) if pairs.numel() else float("nan"),
        "val_top1_2A": _fraction(chosen[:, 0]),
        "val_first_2A": _fraction(success[:, 0]),
    }


# ----------------------------------------------------------------------------- docked poses for stage 3


def _pose_file(folder: Path, name: str) -> Path:
    return folder / f"{name}.pt"


@torch.no_grad()
def dock_for_confidence(model: DockingModel, dataset: ComplexDataset, count: int, folder: Path, procs: Processes) -> None:
    """Dock `confidence_samples` poses of each of the first `count` complexes of `dataset` into
    `folder/<name>.pt` ({"pos": (S, N, 3), "rmsd": (S,), "centre": (3,)}), skipping complexes
    already there; the processes share the complexes. Each complex has its own seed, so a
    resumed run docks exactly what an uninterrupted one would."""
    config = model.config
    sampling = SamplingConfig(samples=config.training.confidence_samples)
    folder.mkdir(parents=True, exist_ok=True)
    todo = [index for index in range(procs.rank, count, procs.world_size) if not _pose_file(folder, dataset.names[index]).exists()]
    for index in progress(todo, desc=f"docking {folder.name}"):
        view_generator, generator = generators(config.training.seed + index, procs.device)
        graph = training_view(dataset[index], config, view_generator)
        batch = Batch.from_data_list([graph] * sampling.samples).to(procs.device)
        latents = None if model.prior is None else model.prior.sample(placed_at_centre(batch, generator), sampling.prior_temperature, generator)
        pos = sample_poses(model.score, batch, config.pose_schedules, sampling, latents, batch.centre, generator)
        record = {"pos": pos.view(sampling.samples, -1, 3).cpu(), "rmsd": ligand_rmsd(pos, batch).cpu(), "centre": graph.centre[0]}
        path = _pose_file(folder, dataset.names[index])
        torch.save(record, path.with_name(path.name + ".tmp"))
        os.replace(path.with_name(path.name + ".tmp"), path)
    procs.barrier()


class DockedPoses(Dataset):
    """The docked poses in a folder written by `dock_for_confidence`, each as its complex graph
    (cropped around the stored centre in pocket mode) with the ligand at the pose and a
    `success` label (1.0 where RMSD < 2 A). Poses are held in memory; graphs read lazily."""

    def __init__(self, complexes: ComplexDataset, count: int, folder: Path, config: DockingConfig):
        super().__init__()
        self.complexes, self.config = complexes, config
        self.records = [torch.load(_pose_file(folder, name), weights_only=True) for name in complexes.names[:count]]
        self.samples = self.records[0]["rmsd"].shape[0]

    def len(self) -> int:
        """Number of poses."""
        return len(self.records) * self.samples

    def get(self, idx: int) -> HeteroData:
        """Pose `idx % samples` of complex `idx // samples`."""
        complex_index, sample = divmod(idx, self.samples)
        record = self.records[complex_index]
        graph = self.complexes[complex_index]
        if self.config.mode == POCKET:
            graph = crop_to_pocket(graph, record["centre"], self.config.pocket.radius)
        graph[LIGAND].pos = record["pos"][sample]
        graph.success = (record["rmsd"][sample : sample + 1] < SUCCESS_RMSD).float()
        return graph


# ----------------------------------------------------------------------------- the stages


@dataclass(frozen=True)
class RunPaths:
    """The files of a training run: the data, the run folder and an optional model to start from."""

    cache: Path
    train_split: Path
    val_split: Path
    run_dir: Path
    init_from: Path | None = None

    @property
    def model_file(self) -> Path:
        """`RUN_DIR/model.pt`."""
        return self.run_dir / MODEL_FILE

    @property
    def source_model(self) -> Path:
        """The model a stage after the first starts from: `--init-from`'s, else this run's."""
        return (self.init_from or self.run_dir) / MODEL_FILE


def train_score(config: DockingConfig, paths: RunPaths, procs: Processes) -> None:
    """Stage 1: train the score model and latent encoder; export the EMA weights to model.pt."""
    bundle = DockingModel.build(config)
    if paths.init_from is not None and not (paths.run_dir / "score.ckpt").exists():
        start = DockingModel.load(paths.source_model)
        _compatible(start.config.to_dict(), config, paths.source_model)
        bundle.score.load_state_dict(start.score.state_dict())
        if bundle.encoder is not None:
            bundle.encoder.load_state_dict(start.encoder.state_dict())
    objective = ScoreObjective(bundle.score, bundle.encoder, config)
    val_set = complexes(paths.cache, paths.val_split)
    stage = Stage(
        name="score",
        objective=objective,
        parameters=list(objective.parameters()),
        train_set=ComplexDataset(paths.cache, paths.train_split, transform=TrainingViews(config)),
        epochs=config.training.epochs,
        ema_decay=config.training.ema_decay,
        validate=lambda trained: validate_docking(trained, val_set, config, procs.device),
        validate_every=config.training.validate_every,
    )
    trained = fit(stage, config, paths.run_dir, procs)
    if procs.is_main:
        DockingModel(config, trained.score, trained.encoder).cpu().save(paths.model_file)


def train_prior(config: DockingConfig, paths: RunPaths, procs: Processes) -> None:
    """Stage 2: train the pointer prior on the encoder's latents; add it to model.pt."""
    model = DockingModel.load(paths.source_model)
    if model.encoder is None:
        raise TrainingError(f"{paths.source_model} has no latents (num_latents=0): there is no prior to train")
    prior = build_prior(config)
    prior.load_trunk_from(model.score)
    objective = PriorObjective(prior, model.encoder)
    val_set = complexes(paths.cache, paths.val_split)
    stage = Stage(
        name="prior",
        objective=objective,
        parameters=list(prior.parameters()),
        train_set=ComplexDataset(paths.cache, paths.train_split, transform=TrainingViews(config)),
        epochs=config.training.prior_epochs,
        validate=lambda trained: validate_prior(trained, val_set, config, procs.device),
        before_epoch=lambda epoch: prior.freeze_trunk(epoch < config.training.prior_frozen_epochs),
    )
    trained = fit(stage, config, paths.run_dir, procs)
    if procs.is_main:
        model.prior = trained.prior
        model.cpu().save(paths.model_file)


def train_confidence(config: DockingConfig, paths: RunPaths, procs: Processes) -> None:
    """Stage 3: dock training and validation complexes, train the confidence model on the
    poses' success labels; add it to model.pt."""
    model = DockingModel.load(paths.source_model, procs.device)
    train_set, val_set = complexes(paths.cache, paths.train_split), complexes(paths.cache, paths.val_split)
    val_count = min(config.training.validation_complexes, len(val_set))
    train_count = min(config.training.confidence_complexes or len(train_set), len(train_set))
    dock_for_confidence(model, train_set, train_count, paths.run_dir / POSES_DIR / "train", procs)
    dock_for_confidence(model, val_set, val_count, paths.run_dir / POSES_DIR / "val", procs)
    val_poses = DockedPoses(val_set, val_count, paths.run_dir / POSES_DIR / "val", config)
    objective = ConfidenceObjective(build_confidence(config))
    stage = Stage(
        name="confidence",
        objective=objective,
        parameters=list(objective.parameters()),
        train_set=DockedPoses(train_set, train_count, paths.run_dir / POSES_DIR / "train", config),
        epochs=config.training.confidence_epochs,
        validate=lambda trained: validate_confidence(trained, val_poses, config.training.batch_size, procs.device),
    )
    trained = fit(stage, config, paths.run_dir, procs)
    if procs.is_main:
        model.confidence = trained.confidence
        model.cpu().save(paths.model_file)


STAGE_RUNNERS = {"score": train_score, "prior": train_prior, "confidence": train_confidence}
EPOCH_FIELDS = {"score": "epochs", "prior": "prior_epochs", "confidence": "confidence_epochs"}


def read_config_file(path: Path) -> DockingConfig:
    """A `DockingConfig` from a JSON file of (possibly partial) nested settings over the defaults."""
    try:
        values = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise TrainingError(f"{path}: cannot read the config ({error})") from None
    merged = DockingConfig().to_dict()
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    try:
        return DockingConfig.from_dict(merged)
    except (TypeError, ValueError, KeyError) as error:
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
        config = read_config_file(own)
    else:
        config = start or DockingConfig()
    if mode is not None:
        config = config.replace(mode=mode)
    if start is not None:
        if config.mode != start.mode:
            raise TrainingError(f"{paths.source_model} docks in {start.mode} mode, not {config.mode}")
        config = start.replace(training=config.training)
    if epochs is not None:
        config = config.replace(training=dataclasses.replace(config.training, **{EPOCH_FIELDS[stage]: epochs}))
    return config


def train(
    stage: str,
    paths: RunPaths,
    config_file: Path | None = None,
    mode: str | None = None,
    epochs: int | None = None,
    device: str = "auto",
    data_dir: Path | None = None,
) -> DockingConfig:
    """Run one training stage (see the module docstring); returns the settings it ran with.

    With `data_dir`, complexes of the splits missing from the cache are preprocessed first.
    TrainingError / DataError on bad input.
    """
    if stage not in STAGE_RUNNERS:
        raise TrainingError(f"unknown stage {stage!r}: use one of {', '.join(STAGES)}")
    if paths.init_from is not None and not (paths.init_from / MODEL_FILE).is_file():
        raise TrainingError(f"{paths.init_from}: no {MODEL_FILE} to start from")
    with processes(device) as procs:
        if data_dir is not None and procs.is_main:
            for split in (paths.train_split, paths.val_split):
                preprocess_dataset(data_dir, paths.cache, ids=split, progress=True)
        procs.barrier()
        config = resolve_config(stage, paths, config_file, mode, epochs)
        for split in (paths.train_split, paths.val_split):
            complexes(paths.cache, split)
        seed_everything(config.training.seed + procs.rank)
        if procs.is_main:
            paths.run_dir.mkdir(parents=True, exist_ok=True)
            (paths.run_dir / CONFIG_FILE).write_text(json.dumps(config.to_dict(), indent=2) + "\n")
        STAGE_RUNNERS[stage](config, paths, procs)
    return config
