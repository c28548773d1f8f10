"""Stage 3's data, one file per complex (a crashed run keeps them), read back as graphs labelled
by their success: poses docked by the trained score model and prior (`dock_for_confidence`), or
the candidate pools of `disco-dock decoys` (`poses_from_decoys`: Vina's search poses and refined
diffusion samples, the poses `predict` ranks)."""

from __future__ import annotations

import bisect
import json
import warnings
from collections.abc import Sequence
from itertools import accumulate
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset as ItemDataset
from torch_geometric.data import Batch, Dataset, HeteroData

from disco_dock.core.distributed import Processes
from disco_dock.core.files import replacing
from disco_dock.core.training import progress
from disco_dock.docking.bundle import DockingModel
from disco_dock.docking.config import POCKET, DockingConfig, SamplingConfig
from disco_dock.docking.data.dataset import ComplexDataset
from disco_dock.docking.data.graph import LIGAND, LIGAND_BOND
from disco_dock.docking.decoys import CANDIDATE_SOURCES, CRYSTAL_REFINED, ComplexDecoys, decoy_path, load_decoys
from disco_dock.docking.physics.ligand import BOND_TOLERANCE, bonds_kept
from disco_dock.docking.pocket import crop_to_pocket
from disco_dock.docking.sampling import sample_poses
from disco_dock.docking.training.runs import TrainingError
from disco_dock.docking.training.views import SUCCESS_RMSD, generators, ligand_rmsd, placed_at_centre, training_radius, training_view


def pose_file(folder: Path, name: str) -> Path:
    """Where the docked poses of complex `name` are kept."""
    return folder / f"{name}.pt"


def _write_poses(folder: Path, name: str, record: dict) -> None:
    """Write complex `name`'s pose record to its `pose_file` atomically (a temporary file, then a rename)."""
    with replacing(pose_file(folder, name)) as temporary:
        torch.save(record, temporary)


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
        _write_poses(folder, dataset.names[index], record)
    procs.barrier()


DECOY_SETTINGS_FILE = "decoys.json"
"""In a folder of poses from decoys: the decoy folders and settings they were taken with."""


def poses_from_decoys(
    dataset: ComplexDataset, count: int, decoys: Sequence[Path], folder: Path, config: DockingConfig, crystal_refined: bool
) -> None:
    """Write the decoys (`disco-dock decoys` folders `decoys`) of the first `count` complexes of
    `dataset` into `folder/<name>.pt` as `dock_for_confidence` writes its poses, with each pose's
    Vina score (`vina_score`): the candidates (Vina's search poses, refined diffusion samples) and,
    with `crystal_refined`, the refined crystal pose; the pocket centre is the training view's.

    Complexes with a pose file are kept as they are (TrainingError when the folder's poses were
    taken from other decoy folders or settings); those without decoys are left out, and so, with a
    warning, are those whose decoys cannot be read or do not match the cached graph (`_bonds_kept`:
    another atom count or atom order), and single poses whose bonds are broken."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = {"decoys": [str(root) for root in decoys], "crystal_refined": crystal_refined}
    settings_file = folder / DECOY_SETTINGS_FILE
    if settings_file.exists() and json.loads(settings_file.read_text()) != settings:
        raise TrainingError(f"{folder} holds poses from other decoys or settings ({settings_file.read_text().strip()}): use another --out")
    settings_file.write_text(json.dumps(settings) + "\n")
    sources = (*CANDIDATE_SOURCES, *([CRYSTAL_REFINED] if crystal_refined else []))
    left_out, broken = [], []
    for index, name in enumerate(dataset.names[:count]):
        stored = next((path for path in (decoy_path(root, name) for root in decoys) if path.is_file()), None)
        if stored is None or pose_file(folder, name).exists():
            continue
        try:
            pool = load_decoys(stored)
        except (OSError, ValueError, KeyError) as error:
            left_out.append(f"{name} (unreadable: {type(error).__name__})")
            continue
        graph = dataset[index]
        kept = _bonds_kept(pool, graph)
        refined = np.array([source == CRYSTAL_REFINED for source in pool.sources])
        if kept is None or not kept[refined].all() or not kept.any():
            left_out.append(f"{name} (atoms differ from the cache's)")
            continue
        if not kept.all():
            broken.append(f"{name} ({(~kept).sum()} of {len(kept)})")
        keep = kept & np.array([source in sources for source in pool.sources])
        if not keep.any():
            continue
        centre = training_view(graph, config, generators(config.training.seed + index, torch.device("cpu"))[0]).centre[0]
        record = {
            "pos": torch.from_numpy(pool.positions[keep]), "rmsd": torch.from_numpy(pool.rmsds[keep]),
            "vina_score": torch.from_numpy(pool.scores[keep]), "centre": centre,
        }  # fmt: skip
        _write_poses(folder, name, record)
    if left_out:
        warnings.warn(f"{len(left_out)} complexes' decoys left out: {', '.join(left_out)}", stacklevel=2)
    if broken:
        warnings.warn(f"decoy poses with a bond stretched or shrunk by over {BOND_TOLERANCE} A left out: {', '.join(broken)}", stacklevel=2)


def _bonds_kept(pool: ComplexDecoys, graph: HeteroData) -> np.ndarray | None:
    """Per pose of `pool`, whether its atoms, read in the cached graph's atom order, keep every
    bond length of the cached crystal pose within `BOND_TOLERANCE`; None for another atom count.
    This tests the atom order itself: a refined crystal pose may move well over 2 A from the
    crystal pose, and a symmetric ligand's atoms may come in a symmetric order (the same graph)."""
    crystal = graph[LIGAND].crystal_pos.numpy()
    if pool.positions.shape[1] != len(crystal):
        return None
    return bonds_kept(pool.positions, crystal, graph[LIGAND_BOND].edge_index.numpy().T)


class DockedPoses(Dataset):
    """The poses in a folder written by `dock_for_confidence` or `poses_from_decoys`, each as its
    complex graph (cropped around the stored centre in pocket mode) with the ligand at the pose
    and a `success` label (1.0 where RMSD < 2 A: the decoys' RMSDs are symmetry-corrected, those of
    docked poses not) and, for decoys, its `vina_score`; complexes may have different numbers of
    poses. Poses are held in memory; graphs read lazily."""

    def __init__(self, complexes: ComplexDataset, names: Sequence[str], folder: Path, config: DockingConfig):
        """The poses in `folder` of the complexes `names` of `complexes`."""
        super().__init__()
        self.complexes, self.config = complexes, config
        position = {name: index for index, name in enumerate(complexes.names)}
        self.complex_indices = [position[name] for name in names]
        self.records = [torch.load(pose_file(folder, name), weights_only=True) for name in names]
        self.counts = [len(record["rmsd"]) for record in self.records]
        self.starts = [0, *accumulate(self.counts)]

    def len(self) -> int:
        """Number of poses."""
        return self.starts[-1]

    def get(self, idx: int) -> HeteroData:
        """Pose `idx - starts[c]` of the complex `c` whose poses hold index `idx`."""
        complex_index = bisect.bisect_right(self.starts, idx) - 1
        return self.posed(self.complex_graph(complex_index), complex_index, idx - self.starts[complex_index])

    def complex_graph(self, complex_index: int) -> HeteroData:
        """The graph of complex `complex_index` (cropped around its stored centre in pocket mode)."""
        record, graph = self.records[complex_index], self.complexes[self.complex_indices[complex_index]]
        if self.config.mode == POCKET:
            graph = crop_to_pocket(graph, record["centre"], training_radius(graph, record["centre"], self.config.pocket.radius))
        return graph

    def posed(self, graph: HeteroData, complex_index: int, sample: int) -> HeteroData:
        """`graph` (changed in place) with its ligand at pose `sample` of complex `complex_index`, labelled."""
        record = self.records[complex_index]
        graph[LIGAND].pos = record["pos"][sample]
        graph.success = (record["rmsd"][sample : sample + 1] < SUCCESS_RMSD).float()
        if "vina_score" in record:
            graph.vina_score = record["vina_score"][sample : sample + 1].float()
        return graph


class DockedPools(ItemDataset):
    """The same poses a complex at a time: item `c` is the batch of all of complex `c`'s poses (for
    the listwise loss, `TrainingConfig.confidence_pool_loss`)."""

    def __init__(self, poses: DockedPoses):
        self.poses = poses

    def __len__(self) -> int:
        """Number of complexes."""
        return len(self.poses.counts)

    def __getitem__(self, index: int) -> Batch:
        """All the poses of complex `index`, as one batch (the complex read and cropped once)."""
        graph = self.poses.complex_graph(index)
        return Batch.from_data_list([self.poses.posed(graph.clone(), index, sample) for sample in range(self.poses.counts[index])])
