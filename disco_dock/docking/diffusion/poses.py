"""Ligand poses of a batch of complex graphs: pose updates, centroids, random starting poses and
the placement of a conformer at a docking centre (the prior's input, in training and docking alike)."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from disco_dock.docking.data.graph import LIGAND, RECEPTOR, ROTATABLE_BOND, count_graphs, node_graph, torsion_mask
from disco_dock.docking.diffusion.schedule import PoseNoiseSchedules
from disco_dock.docking.geometry import apply_pose_update, random_rotvecs


class PoseUpdate(NamedTuple):
    """A change of the ligand poses of a batch: per-graph translation (G, 3) and rotation vector
    (G, 3, about each ligand's centroid), and per-rotatable-bond torsion change (R,)."""

    translation: Tensor
    rotvec: Tensor
    torsion: Tensor


def bond_graph_index(batch: HeteroData) -> Tensor:
    """(R,) graph index of each rotatable bond (the graph of its first atom)."""
    return node_graph(batch, LIGAND)[batch[ROTATABLE_BOND].edge_index[0]]


def graph_means(values: Tensor, graph: Tensor, count: int) -> Tensor:
    """Per-graph means (count, ...) of `values` (n, ...) grouped by `graph` (n,)."""
    totals = values.new_zeros(count, *values.shape[1:]).index_add_(0, graph, values)
    sizes = torch.bincount(graph, minlength=count).clamp_min(1).to(values.dtype)
    return totals / sizes.view(-1, *[1] * (values.dim() - 1))


def ligand_centroids(batch: HeteroData, pos: Tensor | None = None) -> Tensor:
    """(G, 3) centroid of each ligand, of `pos` (default `batch['ligand'].pos`)."""
    pos = batch[LIGAND].pos if pos is None else pos
    return graph_means(pos, node_graph(batch, LIGAND), count_graphs(batch))


def move_ligands(batch: HeteroData, update: PoseUpdate, pos: Tensor | None = None) -> Tensor:
    """New ligand positions (N, 3): each graph's `pos` (default `batch['ligand'].pos`) moved by
    its part of `update` with `apply_pose_update` (torsions Kabsch-aligned, then rotation about
    the centroid, then translation), one graph at a time."""
    pos = batch[LIGAND].pos if pos is None else pos
    count = count_graphs(batch)
    moving = torsion_mask(batch).to(pos.device)
    bonds = batch[ROTATABLE_BOND].edge_index.T
    atom_counts = torch.bincount(node_graph(batch, LIGAND), minlength=count).tolist()
    bond_counts = torch.bincount(bond_graph_index(batch), minlength=count).tolist()
    moved, atom_start, bond_start = [], 0, 0
    for graph, (num_atoms, num_bonds) in enumerate(zip(atom_counts, bond_counts)):
        atoms, graph_bonds = slice(atom_start, atom_start + num_atoms), slice(bond_start, bond_start + num_bonds)
        torsion = update.torsion[graph_bonds] if num_bonds else None
        local_bonds, local_moving = bonds[graph_bonds] - atom_start, moving[graph_bonds, atoms]
        moved.append(apply_pose_update(pos[atoms], update.translation[graph], update.rotvec[graph], torsion, local_bonds, local_moving))
        atom_start, bond_start = atom_start + num_atoms, bond_start + num_bonds
    return torch.cat(moved)


def initial_pose(
    batch: HeteroData,
    schedules: PoseNoiseSchedules = PoseNoiseSchedules(),
    centre: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Random starting ligand positions (N, 3) for sampling: each ligand's conformer in `batch`
    with uniformly random rotation and torsions (in [-pi, pi)), its centroid drawn from
    N(centre, sigma_tr_max^2 I). `centre` (3,) or (G, 3), e.g. pocket centres; default each
    receptor's centre (blind docking)."""
    pos = batch[LIGAND].pos
    count = count_graphs(batch)
    if centre is None:
        centre = graph_means(batch[RECEPTOR].pos.to(pos.dtype), node_graph(batch, RECEPTOR), count)
    centre = torch.as_tensor(centre, dtype=pos.dtype, device=pos.device).expand(count, 3)
    spread = schedules.translation.sigma_max * torch.randn(count, 3, generator=generator, dtype=pos.dtype, device=pos.device)
    num_bonds = batch[ROTATABLE_BOND].edge_index.shape[1]
    torsion = (2 * torch.rand(num_bonds, generator=generator, dtype=pos.dtype, device=pos.device) - 1) * math.pi
    update = PoseUpdate(
        translation=centre + spread - ligand_centroids(batch),
        rotvec=random_rotvecs((count,), generator, dtype=pos.dtype, device=pos.device),
        torsion=torsion,
    )
    return move_ligands(batch, update)


def place_ligands(batch: HeteroData, centre: Tensor, generator: torch.Generator | None = None, random_torsions: bool = True) -> Tensor:
    """Ligand positions (N, 3) with each conformer of `batch` at `centre` ((3,) or (G, 3)) in a
    uniformly random orientation: what the latent prior sees, since it must not see a pose.

    With `random_torsions` every rotatable bond also gets a uniform torsion in [-pi, pi): training
    needs this because the cached conformers' torsions were matched to the crystal pose; docking
    passes False, since its fresh RDKit conformer carries no information about the pose.
    """
    pos = batch[LIGAND].pos
    count = count_graphs(batch)
    rotvec = random_rotvecs((count,), generator, dtype=pos.dtype, device=pos.device)
    num_bonds = batch[ROTATABLE_BOND].edge_index.shape[1]
    if random_torsions:
        torsion = (2 * torch.rand(num_bonds, generator=generator, dtype=pos.dtype, device=pos.device) - 1) * math.pi
    else:
        torsion = pos.new_zeros(num_bonds)
    return move_ligands(batch, PoseUpdate(translation=centre - ligand_centroids(batch), rotvec=rotvec, torsion=torsion))
