"""Docking a ligand into a protein with a trained `DockingModel`, in memory: `dock`.

For one complex: the protein is read (or given as a `Receptor`), the ligand (a file, a SMILES
string or an RDKit molecule) gets a fresh seeded RDKit conformer (an input pose is never used as
the start), the complex graph is built (the receptor cropped around the pocket in pocket mode),
`sampling.samples` copies are docked in batches of at most `sampling.batch_nodes` nodes, go
through the physics stage and are ranked, poses out of place last. The same seed gives the same
poses. `docking.writer` writes a result to files.

`dock` is `sample` then `finish`: callers that put the same samples through several physics
settings (the benchmark's pipeline variants) sample once.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from rdkit import Chem
from rdkit.Geometry import Point3D
from torch import Tensor
from torch_geometric.data import Batch, HeteroData

from disco_dock.docking.bundle import DockingModel
from disco_dock.docking.candidates import physics_stage, rank_pool, ranking_key, validity_checked
from disco_dock.docking.config import PhysicsConfig, SamplingConfig
from disco_dock.docking.data.conformers import generate_conformers, rotatable_bonds
from disco_dock.docking.data.errors import DataError
from disco_dock.docking.data.graph import LIGAND, RECEPTOR, build_complex_graph
from disco_dock.docking.data.ligand import Ligand, docking_ligand, featurize_ligand, rdkit_messages
from disco_dock.docking.data.protein import Receptor, read_heavy_atoms, read_protein
from disco_dock.docking.diffusion.poses import place_ligands
from disco_dock.docking.placement import flag_placements
from disco_dock.docking.ranking.features import protein_tree
from disco_dock.docking.pocket import EmptyPocketError, Pocket, crop_to_pocket, docking_mode
from disco_dock.docking.results import DockedPose, DockingResult, default_name
from disco_dock.docking.sampling import sample_poses

FEW_RESIDUES = 30
"""Docking into fewer receptor residues than this (a truncated file, a tiny pocket) draws a warning."""
Progress = Callable[[str], None]
"""Where `dock` reports its progress: one line per stage or sampling batch."""


def input_ligand(ligand: str | Path | Chem.Mol) -> Ligand:
    """The heavy-atom ligand of a file, a SMILES string or an RDKit molecule (hydrogens removed,
    atom order kept). DataError when it cannot be read or sanitised (`docking_ligand`)."""
    if not isinstance(ligand, Chem.Mol):
        return docking_ligand(ligand)
    with rdkit_messages():
        try:
            return Ligand(Chem.RemoveAllHs(ligand), "RDKit molecule", "rdkit")
        except Exception as error:  # RDKit raises several exception types (MolSanitizeException, ...)
            raise DataError("RDKit molecule", f"RDKit cannot sanitise the molecule: {error}") from None


def complex_graph(name: str, receptor: Receptor, ligand: Ligand, seed: int) -> HeteroData:
    """The graph of a receptor and a ligand in a fresh seeded RDKit conformer (no crystal pose)."""
    mol = ligand.mol
    conformer = generate_conformers(mol, num=1, seed=seed).pos[0]
    bonds, moving = rotatable_bonds(mol)
    return build_complex_graph(name, receptor, featurize_ligand(mol), conformer, None, bonds, moving)


def batch_sizes(graph: HeteroData, count: int, batch_nodes: int) -> list[int]:
    """`count` copies of `graph` split into batches of at most `batch_nodes` nodes (at least one copy each)."""
    per_batch = max(1, batch_nodes // (graph[LIGAND].num_nodes + graph[RECEPTOR].num_nodes))
    return [min(per_batch, count - start) for start in range(0, count, per_batch)]


@torch.no_grad()
def sample_graph(
    model: DockingModel,
    graph: HeteroData,
    sampling: SamplingConfig,
    centre: Tensor,
    generator: torch.Generator,
    progress: Progress | None = None,
) -> Tensor:
    """Dock `sampling.samples` copies of one complex around `centre` (3,): positions (S, N, 3),
    in batches of at most `sampling.batch_nodes` nodes, each reported to `progress`.

    Latents come from the prior at `sampling.prior_temperature`, shown the ligand's conformer
    at `centre` in a random orientation; None for a model without latents.
    """
    model.eval()
    done: list[Tensor] = []
    for size in batch_sizes(graph, sampling.samples, sampling.batch_nodes):
        batch = Batch.from_data_list([graph] * size)
        latents = None
        if model.prior is not None:
            placed = copy.copy(batch)
            placed[LIGAND].pos = place_ligands(batch, centre, generator, random_torsions=False)
            latents = model.prior.sample(placed, sampling.prior_temperature, generator)
        pos = sample_poses(model.score, batch, model.config.pose_schedules, sampling, latents, centre, generator)
        done.append(pos.view(size, graph[LIGAND].num_nodes, 3))
        if progress is not None:
            progress(f"sampled {sum(map(len, done))}/{sampling.samples} poses")
    return torch.cat(done)


@torch.no_grad()
def confidence_logits(model: DockingModel, graph: HeteroData, positions: Tensor, batch_nodes: int) -> Tensor:
    """(K,) the confidence model's logits of "within 2 A of the true pose" for the ligand poses
    `positions` (K, N, 3), in batches of at most `batch_nodes` nodes; NaN without a confidence model."""
    if model.confidence is None:
        return positions.new_full((len(positions),), math.nan)
    values = []
    for chunk in positions.split(batch_sizes(graph, len(positions), batch_nodes)[0]):
        batch = Batch.from_data_list([graph] * len(chunk))
        batch[LIGAND].pos = chunk.reshape(-1, 3).to(batch[LIGAND].pos)
        values.append(model.confidence(batch))
    return torch.cat(values)


def confidences(model: DockingModel, graph: HeteroData, positions: Tensor, batch_nodes: int) -> Tensor:
    """(K,) the probabilities of `confidence_logits`, in float64 (so that `candidates.learned_score`
    can take the logits back); NaN without a confidence model."""
    return torch.sigmoid(confidence_logits(model, graph, positions, batch_nodes).double())


def posed(mol: Chem.Mol, pos: Tensor) -> Chem.Mol:
    """A copy of heavy-atom `mol` whose one conformer has the positions `pos` (N, 3)."""
    posed_mol = Chem.Mol(mol)
    posed_mol.RemoveAllConformers()
    conformer = Chem.Conformer(posed_mol.GetNumAtoms())
    for index, (x, y, z) in enumerate(pos.cpu().double().tolist()):
        conformer.SetAtomPosition(index, Point3D(x, y, z))
    conformer.Set3D(True)
    posed_mol.AddConformer(conformer)
    return posed_mol


def docking_graph(name: str, receptor: Receptor, ligand: Ligand, pocket: Pocket | None, seed: int) -> HeteroData:
    """The complex graph to dock: cropped to the pocket when there is one. DataError for an empty
    pocket (naming the protein file, or an `EmptyPocketError` for a receptor given in memory); a
    warning when fewer than `FEW_RESIDUES` residues are left to dock into."""
    graph = complex_graph(name, receptor, ligand, seed)
    if pocket is not None:
        try:
            graph = crop_to_pocket(graph, torch.tensor(pocket.centre), pocket.radius)
        except EmptyPocketError as error:
            if receptor.path is None:
                raise
            raise DataError(receptor.path, str(error)) from None
    residues = graph[RECEPTOR].num_nodes
    if residues < FEW_RESIDUES:
        where = "in the pocket" if pocket is not None else f"in {receptor.path or 'the protein'}"
        warnings.warn(f"only {residues} residue(s) {where} (fewer than {FEW_RESIDUES}): is the protein complete?", stacklevel=3)
    return graph


@dataclass(frozen=True)
class Samples:
    """One complex's diffusion samples before the physics stage and the ranking (`sample`), and
    what `finish` needs to complete them."""

    name: str
    mode: str
    receptor: Receptor
    ligand: Ligand
    graph: HeteroData
    """The complex graph docked (cropped to the pocket in pocket mode), ligand in its start conformer."""
    pocket: Pocket | None
    pool: list[DockedPose]
    """The samples with finite coordinates, in sample order."""
    batch_nodes: int
    seconds: dict[str, float]
    """Wall time of each stage so far (s): inputs, sampling."""


def sample(
    protein: str | Path | Receptor,
    ligand: str | Path | Chem.Mol,
    model: DockingModel,
    pocket: Pocket | None = None,
    sampling: SamplingConfig = SamplingConfig(),
    device: str | torch.device = "cpu",
    name: str | None = None,
    progress: Progress | None = None,
) -> Samples:
    """The diffusion samples of `dock` (its arguments but the physics), not yet through the
    physics stage or ranked; `finish` completes them."""
    report = progress or (lambda line: None)
    clock = Stopwatch()
    mode = docking_mode(pocket is not None, model.config.mode)
    name = name or default_name(protein, ligand)
    receptor = protein if isinstance(protein, Receptor) else read_protein(protein)
    ligand_input = input_ligand(ligand)
    graph = docking_graph(name, receptor, ligand_input, pocket, sampling.seed).to(device)
    centre = graph[RECEPTOR].pos.mean(dim=0) if pocket is None else torch.tensor(pocket.centre, device=device)
    generator = torch.Generator(device=device).manual_seed(sampling.seed)
    clock.lap("inputs")
    report(f"docking {name} ({mode}, {graph[RECEPTOR].num_nodes} residues): sampling {sampling.samples} poses")
    pos = sample_graph(model, graph, sampling, centre.to(graph[LIGAND].pos.dtype), generator, report)
    pool = finite_poses([DockedPose(posed(ligand_input.mol, sample_pos), 0, math.nan, sample) for sample, sample_pos in enumerate(pos)])
    clock.lap("sampling")
    return Samples(name, mode, receptor, ligand_input, graph, pocket, pool, sampling.batch_nodes, clock.seconds)


def finish(samples: Samples, model: DockingModel, physics: PhysicsConfig = PhysicsConfig(), progress: Progress | None = None) -> DockingResult:
    """`samples` through the physics stage (as `physics` asks), confidences, placement flags, the
    ranking (`candidates.rank_pool`, with the model's `confidence_vina_weight`) and PoseBusters'
    checks of the ranked poses (`candidates.validity_checked`): `dock`'s result. `model` is the
    one that sampled them (its confidence model scores every pose; a pose ranker it holds
    replaces those confidences unless the confidence model corrects Vina's ranking). ValueError for a
    search without a pocket or a physics stage on a receptor given in memory."""
    report = progress or (lambda line: None)
    clock = Stopwatch()
    pocket, receptor, graph, pool = samples.pocket, samples.receptor, samples.graph, samples.pool
    physics = physics.for_mode(pocket is not None)
    if (physics.uses_vina or physics.check_validity) and receptor.path is None:
        raise ValueError("the physics stage reads the protein file: give a Receptor read from a file")
    if physics.uses_vina:
        steps = [
            name
            for name, on in (
                ("Vina refinement", physics.refine),
                (f"Vina search (exhaustiveness {physics.vina_exhaustiveness})", physics.vina_search),
                (f"Vinardo scores of the {physics.vinardo_poses} best by Vina", physics.vinardo),
            )
            if on
        ]
        report(f"physics stage on {len(pool)} sampled poses: {', '.join(steps)}")
        start = posed(samples.ligand.mol, graph[LIGAND].pos)
        pool = physics_stage(pool, start, receptor.path, pocket, physics)
        clock.lap("physics")
    positions = torch.tensor(np.stack([pose.positions for pose in pool]), dtype=graph[LIGAND].pos.dtype, device=graph[LIGAND].pos.device)
    pool = [
        dataclasses.replace(pose, confidence=float(value))
        for pose, value in zip(pool, confidences(model, graph, positions, samples.batch_nodes))
    ]
    protein_atoms = protein_tree(read_heavy_atoms(receptor.path)) if receptor.path is not None else None
    reach = protein_atoms if protein_atoms is not None else protein_tree(receptor.ca)
    pool = flag_placements(pool, reach, pocket.box if pocket else None, physics.contact_distance)
    poses = rank_pool(pool, model.ranker, model.confidence is not None, protein_atoms, physics, model.confidence_vina_weight)
    if not any(math.isfinite(pose.confidence) for pose in poses):
        warnings.warn("the model has no confidence model: every confidence is nan, the poses are ranked by "
                      f"{ranking_key(physics, False, poses)}", stacklevel=2)  # fmt: skip
    clock.lap("ranking")
    if physics.check_validity:
        report(f"PoseBusters checks of the {len(poses)} ranked poses {'' if physics.check_all else 'until one passes'}".rstrip())
        poses = validity_checked(poses, receptor.path, physics)
        clock.lap("checks")
    return DockingResult(samples.name, samples.mode, poses, receptor.path, samples.seconds | clock.seconds)


def dock(
    protein: str | Path | Receptor,
    ligand: str | Path | Chem.Mol,
    model: DockingModel,
    pocket: Pocket | None = None,
    sampling: SamplingConfig = SamplingConfig(),
    device: str | torch.device = "cpu",
    name: str | None = None,
    physics: PhysicsConfig = PhysicsConfig(),
    progress: Progress | None = None,
) -> DockingResult:
    """Dock `ligand` (a file, SMILES or RDKit molecule) into `protein` (a file or a read
    `Receptor`): the ranked poses, in memory. `name` defaults to `default_name`; `progress`
    receives a line per stage.

    The diffusion samples (`sample`) then go through the physics stage (`candidates.physics_stage`:
    refinement, Vina's search, Vinardo's scores, as `physics` asks), are ranked
    (`candidates.rank_pool`) and checked by PoseBusters (`candidates.validity_checked`; `finish`);
    poses out of reach of the protein or outside the pocket's box are flagged and ranked last
    (`placement`). The mode is `docking_mode`'s: ValueError when a pocket model gets no `pocket`;
    a blind model given a pocket docks there, with a warning. DataError on bad input; an empty
    pocket is a DataError naming the protein file (an `EmptyPocketError` for a `Receptor`).
    """
    physics.for_mode(pocket is not None)  # before any work: a search needs a pocket
    return finish(sample(protein, ligand, model, pocket, sampling, device, name, progress), model, physics, progress)


class Stopwatch:
    """Seconds per stage: `lap(stage)` records the time since the previous lap (or the start)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        """Record the seconds since the last lap as `stage`'s."""
        now = time.perf_counter()
        self.seconds[stage] = round(now - self._last, 3)
        self._last = now


def finite_poses(pool: list[DockedPose]) -> list[DockedPose]:
    """The poses whose coordinates are all finite (a warning names any left out); DataError when none is."""
    kept = [pose for pose in pool if np.isfinite(pose.positions).all()]
    if len(kept) < len(pool):
        warnings.warn(f"{len(pool) - len(kept)} pose(s) with non-finite coordinates left out", stacklevel=3)
    if not kept:
        raise DataError("poses", "every docked pose has non-finite coordinates")
    return kept
