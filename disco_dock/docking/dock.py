"""Docking a ligand into a protein with a trained `DockingModel`, in memory: `dock`.

For one complex: the protein is read (or given as a `Receptor`), the ligand (a file, a SMILES
string or an RDKit molecule) gets a fresh seeded RDKit conformer (an input pose is never used as
the start), the complex graph is built (the receptor cropped around the pocket in pocket mode),
`sampling.samples` copies are docked at once and ranked by the confidence model when there is
one. The same seed gives the same poses. `docking.writer` writes a result to files.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import warnings
from pathlib import Path

import numpy as np
import torch
from rdkit import Chem
from rdkit.Geometry import Point3D
from torch import Tensor
from torch_geometric.data import Batch, HeteroData

from disco_dock.docking.bundle import DockingModel
from disco_dock.docking.candidates import physics_stage, rank_pool
from disco_dock.docking.config import PhysicsConfig, SamplingConfig
from disco_dock.docking.data.conformers import generate_conformers, rotatable_bonds
from disco_dock.docking.data.errors import DataError
from disco_dock.docking.data.graph import LIGAND, RECEPTOR, build_complex_graph
from disco_dock.docking.data.ligand import LIGAND_SUFFIXES, Ligand, featurize_ligand, load_ligand, rdkit_messages
from disco_dock.docking.data.protein import Receptor, read_protein
from disco_dock.docking.diffusion.poses import place_ligands
from disco_dock.docking.pocket import EmptyPocketError, Pocket, crop_to_pocket, docking_mode
from disco_dock.docking.results import DockedPose, DockingResult
from disco_dock.docking.sampling import sample_poses

DEFAULT_NAME = "complex"
"""The name of a complex whose protein and ligand are both given in memory, when none is given."""


def default_name(protein: str | Path | Receptor, ligand: str | Path | Chem.Mol) -> str:
    """A complex's name from its inputs: the ligand file's stem, else the protein file's, else `DEFAULT_NAME`."""
    if isinstance(ligand, (str, Path)) and Path(str(ligand)).suffix.lower() in LIGAND_SUFFIXES:
        return Path(str(ligand)).stem
    return DEFAULT_NAME if isinstance(protein, Receptor) else Path(protein).stem


def input_ligand(ligand: str | Path | Chem.Mol) -> Ligand:
    """The heavy-atom ligand of a file, a SMILES string or an RDKit molecule (hydrogens removed,
    atom order kept). DataError when it cannot be read or sanitised."""
    if not isinstance(ligand, Chem.Mol):
        return load_ligand(ligand)
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


@torch.no_grad()
def sample_graph(model: DockingModel, graph: HeteroData, sampling: SamplingConfig, centre: Tensor, generator: torch.Generator) -> Tensor:
    """Dock `sampling.samples` copies of one complex around `centre` (3,): positions (S, N, 3).

    Latents come from the prior at `sampling.prior_temperature`, shown the ligand's conformer
    at `centre` in a random orientation; None for a model without latents.
    """
    model.eval()
    batch = Batch.from_data_list([graph] * sampling.samples)
    latents = None
    if model.prior is not None:
        placed = copy.copy(batch)
        placed[LIGAND].pos = place_ligands(batch, centre, generator, random_torsions=False)
        latents = model.prior.sample(placed, sampling.prior_temperature, generator)
    pos = sample_poses(model.score, batch, model.config.pose_schedules, sampling, latents, centre, generator)
    return pos.view(sampling.samples, graph[LIGAND].num_nodes, 3)


@torch.no_grad()
def confidences(model: DockingModel, graph: HeteroData, positions: Tensor) -> Tensor:
    """(K,) the confidence model's probabilities that the ligand poses `positions` (K, N, 3) are
    within 2 A of the true pose; NaN without a confidence model."""
    if model.confidence is None:
        return positions.new_full((len(positions),), math.nan)
    batch = Batch.from_data_list([graph] * len(positions))
    batch[LIGAND].pos = positions.reshape(-1, 3).to(batch[LIGAND].pos)
    return torch.sigmoid(model.confidence(batch))


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


def dock(
    protein: str | Path | Receptor,
    ligand: str | Path | Chem.Mol,
    model: DockingModel,
    pocket: Pocket | None = None,
    sampling: SamplingConfig = SamplingConfig(),
    device: str | torch.device = "cpu",
    name: str | None = None,
    physics: PhysicsConfig = PhysicsConfig(),
) -> DockingResult:
    """Dock `ligand` (a file, SMILES or RDKit molecule) into `protein` (a file or a read
    `Receptor`): the ranked poses, in memory. `name` defaults to `default_name`.

    The diffusion samples then go through the physics stage (`candidates.physics_stage`:
    refinement, Vina's search, validity, as `physics` asks) and are ranked (`candidates.ranked`).
    The mode is `docking_mode`'s: ValueError when a pocket model gets no `pocket`; a blind model
    given a pocket docks there, with a warning. DataError on bad input; an empty pocket is a
    DataError naming the protein file (an `EmptyPocketError` for a `Receptor`).
    """
    mode = docking_mode(pocket is not None, model.config.mode)
    name = name or default_name(protein, ligand)
    receptor = protein if isinstance(protein, Receptor) else read_protein(protein)
    ligand_input = input_ligand(ligand)
    graph = complex_graph(name, receptor, ligand_input, sampling.seed)
    if pocket is not None:
        try:
            graph = crop_to_pocket(graph, torch.tensor(pocket.centre), pocket.radius)
        except EmptyPocketError as error:
            if isinstance(protein, Receptor):
                raise
            raise DataError(protein, str(error)) from None
    graph = graph.to(device)
    centre = graph[RECEPTOR].pos.mean(dim=0) if pocket is None else torch.tensor(pocket.centre, device=device)
    generator = torch.Generator(device=device).manual_seed(sampling.seed)
    pos = sample_graph(model, graph, sampling, centre.to(graph[LIGAND].pos.dtype), generator)
    pool = finite_poses([DockedPose(posed(ligand_input.mol, sample_pos), 0, math.nan, sample) for sample, sample_pos in enumerate(pos)])
    if physics.uses_vina or physics.check_validity:
        if receptor.path is None:
            raise ValueError("the physics stage reads the protein file: give a Receptor read from a file")
        start = posed(ligand_input.mol, graph[LIGAND].pos)
        pool = physics_stage(pool, start, receptor.path, pocket, physics)
    positions = torch.tensor(np.stack([pose.positions for pose in pool]), dtype=pos.dtype, device=pos.device)
    pool = [dataclasses.replace(pose, confidence=float(value)) for pose, value in zip(pool, confidences(model, graph, positions))]
    poses = rank_pool(pool, model.ranker, model.confidence is not None, receptor.path, physics)
    return DockingResult(name, mode, poses)


def finite_poses(pool: list[DockedPose]) -> list[DockedPose]:
    """The poses whose coordinates are all finite (a warning names any left out); DataError when none is."""
    kept = [pose for pose in pool if np.isfinite(pose.positions).all()]
    if len(kept) < len(pool):
        warnings.warn(f"{len(pool) - len(kept)} pose(s) with non-finite coordinates left out", stacklevel=3)
    if not kept:
        raise DataError("poses", "every docked pose has non-finite coordinates")
    return kept
