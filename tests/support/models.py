"""Tiny networks for the docking tests: their settings, float64 graphs and pointer latents for
them, and small random model files to dock with."""

from __future__ import annotations

from pathlib import Path

import torch
from torch_geometric.data import HeteroData

from disco_dock.docking.config import POCKET, DockingConfig
from disco_dock.docking.data.graph import LIGAND, RECEPTOR
from disco_dock.docking.model import ScoreModelConfig, join_latents, split_latents

TINY = ScoreModelConfig(ns=8, nv=2, num_layers=2, encoder_layers=2, distance_embed_dim=8, time_embed_dim=4)
"""Networks small enough to run in float64 in milliseconds: for the tests of the networks."""
TINY_DOCKING = ScoreModelConfig(ns=8, nv=2, num_layers=2, encoder_layers=1)
"""The networks of the random model files that the docking tests dock with (`save_tiny_models`)."""


def save_tiny_models(folder: Path) -> dict[str, Path]:
    """Random blind and pocket models of `TINY_DOCKING` networks (seed 0), saved in `folder`;
    returns their paths by mode ("blind", "pocket")."""
    from disco_dock.docking.bundle import DockingModel

    torch.manual_seed(0)
    paths = {mode: folder / f"{mode}.pt" for mode in ("blind", POCKET)}
    for mode, path in paths.items():
        DockingModel.build(DockingConfig(mode=mode, model=TINY_DOCKING)).save(path)
    return paths


def as_double(graph: HeteroData) -> HeteroData:
    """The graph with every floating-point field in float64."""
    return graph.apply(lambda value: value.double() if value.is_floating_point() else value)


def pointer_latents(graph: HeteroData, rows: list[int]) -> torch.Tensor:
    """One-hot latents (N_lig + N_rec, len(rows)) of a single complex: latent j points at row rows[j]."""
    latents = torch.zeros(graph[LIGAND].num_nodes + graph[RECEPTOR].num_nodes, len(rows), dtype=torch.float64)
    latents[rows, range(len(rows))] = 1.0
    return latents


def batched_latents(graphs: list[HeteroData], latents: list[torch.Tensor]) -> torch.Tensor:
    """Per-complex latents joined in the latent node order of the batch of `graphs`."""
    parts = [split_latents(rows, graph) for rows, graph in zip(latents, graphs)]
    return join_latents(torch.cat([ligand for ligand, _ in parts]), torch.cat([receptor for _, receptor in parts]))


def pocket_residues(graph: HeteroData, count: int) -> list[int]:
    """Latent rows of the `count` residues nearest the ligand's centroid (their labels reach the
    ligand within two layers)."""
    distance = (graph[RECEPTOR].pos - graph[LIGAND].pos.mean(dim=0)).norm(dim=-1)
    return (graph[LIGAND].num_nodes + distance.argsort()[:count]).tolist()
