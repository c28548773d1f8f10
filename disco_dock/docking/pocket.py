"""Pocket docking: crop a complex graph's receptor to the residues around a pocket centre."""

from __future__ import annotations

from torch import Tensor
from torch_geometric.data import HeteroData
from torch_geometric.utils import subgraph

from disco_dock.docking.data.graph import RECEPTOR, RECEPTOR_RADIUS

RESIDUE_FIELDS = ("x", "pos", "n_rel", "c_rel", "sidechain_rel", "sidechain_mask")
"""Per-residue fields of the receptor nodes (see docking/data/README.md)."""


class EmptyPocketError(ValueError):
    """No receptor residue lies within the pocket radius of the pocket centre."""


def crop_to_pocket(graph: HeteroData, centre: Tensor, radius: float) -> HeteroData:
    """A copy of one complex graph whose receptor keeps only the residues with CA within
    `radius` (A) of `centre` (3,), and the stored receptor edges among them. The ligand is untouched."""
    receptor = graph[RECEPTOR]
    keep = (receptor.pos - centre.to(receptor.pos)).norm(dim=1) <= radius
    if not keep.any():
        raise EmptyPocketError(
            f"no residue within {radius:g} A of the pocket centre "
            f"({', '.join(f'{value:.1f}' for value in centre.tolist())}); check the pocket or enlarge its radius"
        )
    cropped = graph.clone()
    for name in RESIDUE_FIELDS:
        cropped[RECEPTOR][name] = receptor[name][keep]
    cropped[RECEPTOR_RADIUS].edge_index, _ = subgraph(
        keep, graph[RECEPTOR_RADIUS].edge_index, relabel_nodes=True, num_nodes=receptor.num_nodes
    )
    return cropped
