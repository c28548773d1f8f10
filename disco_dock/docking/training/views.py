"""How the training stages see a complex: its docking centre (the pocket crop in pocket mode), the
prior's input that shows no pose, and the RMSD that tells a docked pose's success."""

from __future__ import annotations

import copy

import torch
from torch import Tensor
from torch_geometric.data import HeteroData
from torch_geometric.utils import scatter

from disco_dock.docking.config import POCKET, DockingConfig
from disco_dock.docking.data.graph import LIGAND, RECEPTOR, count_graphs
from disco_dock.docking.diffusion.poses import place_ligands
from disco_dock.docking.model.graph import node_graph
from disco_dock.docking.pocket import crop_to_pocket

SUCCESS_RMSD = 2.0
"""A docked pose is a success (confidence label 1) below this RMSD to the crystal pose (A)."""


POCKET_MARGIN = 4.0
"""A training pocket with no residue within the crop radius keeps those within its nearest residue's distance plus this (A)."""


def training_view(graph: HeteroData, config: DockingConfig, generator: torch.Generator | None = None) -> HeteroData:
    """The complex as a stage sees it, with its docking centre `centre` (1, 3): the receptor's
    CA centroid (blind), or (pocket) the crystal ligand's centroid plus N(0, jitter^2 I), the
    receptor then cropped around it."""
    if config.mode != POCKET:
        graph.centre = graph[RECEPTOR].pos.mean(dim=0, keepdim=True)
        return graph
    jitter = config.pocket.training_jitter * torch.randn(3, generator=generator)
    centre = graph[LIGAND].crystal_pos.mean(dim=0) + jitter.to(graph[LIGAND].crystal_pos)
    graph = crop_to_pocket(graph, centre, training_radius(graph, centre, config.pocket.radius))
    graph.centre = centre[None]
    return graph


def training_radius(graph: HeteroData, centre: Tensor, radius: float) -> float:
    """The crop radius around a training pocket centre: `radius`, or (a ligand whose centroid lies
    farther than that from every residue, e.g. a long ligand reaching into solvent) the nearest
    residue's distance plus `POCKET_MARGIN`, so that every training complex keeps a pocket."""
    nearest = float((graph[RECEPTOR].pos - centre.to(graph[RECEPTOR].pos)).norm(dim=1).min())
    return max(radius, nearest + POCKET_MARGIN)


class TrainingViews:
    """Dataset transform: `training_view` with the global random generator (replayed on resume)."""

    def __init__(self, config: DockingConfig):
        self.config = config

    def __call__(self, graph: HeteroData) -> HeteroData:
        return training_view(graph, self.config)


def placed_at_centre(batch: HeteroData, generator: torch.Generator | None = None) -> HeteroData:
    """A copy of `batch` whose ligand conformers sit at their complexes' `centre` with random
    orientations and torsions (`place_ligands`): the prior's input, which shows no pose."""
    placed = copy.copy(batch)
    placed[LIGAND].pos = place_ligands(batch, batch.centre, generator)
    return placed


def ligand_rmsd(pos: Tensor, batch: HeteroData) -> Tensor:
    """(G,) heavy-atom RMSD (no symmetry correction) of ligand positions `pos` to `crystal_pos`."""
    squared = ((pos - batch[LIGAND].crystal_pos) ** 2).sum(dim=-1)
    return scatter(squared, node_graph(batch, LIGAND), dim=0, dim_size=count_graphs(batch), reduce="mean").sqrt()


def generators(seed: int, device: torch.device) -> tuple[torch.Generator, torch.Generator]:
    """A CPU generator (for graph views) and one on `device` (for sampling), both seeded with `seed`."""
    return torch.Generator().manual_seed(seed), torch.Generator(device).manual_seed(seed)
