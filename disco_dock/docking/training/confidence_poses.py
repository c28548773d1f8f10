"""Stage 3's data: poses docked by the trained score model and prior, one file per complex (a
crashed run keeps them), read back as graphs labelled by their success."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch_geometric.data import Batch, Dataset, HeteroData

from disco_dock.core.distributed import Processes
from disco_dock.core.training import progress
from disco_dock.docking.bundle import DockingModel
from disco_dock.docking.config import POCKET, DockingConfig, SamplingConfig
from disco_dock.docking.data.dataset import ComplexDataset
from disco_dock.docking.data.graph import LIGAND
from disco_dock.docking.pocket import crop_to_pocket
from disco_dock.docking.sampling import sample_poses
from disco_dock.docking.training.views import SUCCESS_RMSD, generators, ligand_rmsd, placed_at_centre, training_radius, training_view


def pose_file(folder: Path, name: str) -> Path:
    """Where the docked poses of complex `name` are kept."""
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
    todo = [index for index in range(procs.rank, count, procs.world_size) if not pose_file(folder, dataset.names[index]).exists()]
    for index in progress(todo, desc=f"docking {folder.name}"):
        view_generator, generator = generators(config.training.seed + index, procs.device)
        graph = training_view(dataset[index], config, view_generator)
        batch = Batch.from_data_list([graph] * sampling.samples).to(procs.device)
        latents = None if model.prior is None else model.prior.sample(placed_at_centre(batch, generator), sampling.prior_temperature, generator)
        pos = sample_poses(model.score, batch, config.pose_schedules, sampling, latents, batch.centre, generator)
        record = {"pos": pos.view(sampling.samples, -1, 3).cpu(), "rmsd": ligand_rmsd(pos, batch).cpu(), "centre": graph.centre[0]}
        path = pose_file(folder, dataset.names[index])
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
        self.records = [torch.load(pose_file(folder, name), weights_only=True) for name in complexes.names[:count]]
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
            graph = crop_to_pocket(graph, record["centre"], training_radius(graph, record["centre"], self.config.pocket.radius))
        graph[LIGAND].pos = record["pos"][sample]
        graph.success = (record["rmsd"][sample : sample + 1] < SUCCESS_RMSD).float()
        return graph
