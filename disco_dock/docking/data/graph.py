"""Radius and kNN graphs in plain torch, and the heterogeneous complex graph.

torch-geometric's own `radius_graph`/`knn_graph` need torch-cluster or pyg-lib, which cannot be
installed everywhere; these use a blocked `torch.cdist` (memory bounded by `block_elements`
distances at a time) and follow torch-cluster's conventions:

* `radius(x, y, r)` / `knn(x, y, k)` return `[index into y, index into x]`: for each query
  point of `y`, its neighbours in `x`;
* `radius_graph(pos, r)` / `knn_graph(pos, k)` return `edge_index = [source, target]` with the
  neighbours as sources of the centre (torch-geometric's "source_to_target" flow), no self loops;
* `max_num_neighbors` keeps the *nearest* neighbours of each query (torch-cluster keeps an
  arbitrary subset), edges come sorted by query then neighbour index;
* `batch_*` vectors keep points of different graphs apart.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from disco_dock.docking.data.config import GraphConfig
from disco_dock.docking.data.ligand import LigandFeatures
from disco_dock.docking.data.protein import Receptor

LIGAND = "ligand"
RECEPTOR = "receptor"
TORSION = "torsion"
LIGAND_BOND = (LIGAND, "bond", LIGAND)
LIGAND_RADIUS = (LIGAND, "radius", LIGAND)
RECEPTOR_RADIUS = (RECEPTOR, "radius", RECEPTOR)
ROTATABLE_BOND = (LIGAND, "rotatable", LIGAND)
TORSION_MOVES = (TORSION, "moves", LIGAND)


def _neighbours(
    x: torch.Tensor,
    y: torch.Tensor,
    r: float,
    k: int | None,
    batch_x: torch.Tensor | None,
    batch_y: torch.Tensor | None,
    exclude_self: bool,
    block_elements: int,
) -> torch.Tensor:
    """For each point of `y`, the points of `x` within `r` (at most the `k` nearest): [y index, x index]."""
    if batch_x is None:
        batch_x = torch.zeros(len(x), dtype=torch.long, device=x.device)
    if batch_y is None:
        batch_y = torch.zeros(len(y), dtype=torch.long, device=y.device)
    rows = max(1, block_elements // max(len(x), 1))
    found: list[torch.Tensor] = []
    for start in range(0, len(y), rows):
        block = slice(start, start + rows)
        distances = torch.cdist(y[block], x)
        distances.masked_fill_(batch_y[block, None] != batch_x[None, :], float("inf"))
        if exclude_self:
            own = torch.arange(start, start + distances.shape[0], device=x.device)
            distances[torch.arange(distances.shape[0], device=x.device), own] = float("inf")
        keep = (distances <= r) & distances.isfinite()  # inf: other graph, or self
        if k is not None and k < len(x):
            nearest = torch.zeros_like(keep)
            nearest.scatter_(1, distances.topk(k, dim=1, largest=False).indices, True)
            keep &= nearest
        query, neighbour = keep.nonzero(as_tuple=True)
        found.append(torch.stack([query + start, neighbour]))
    if not found:
        return torch.zeros(2, 0, dtype=torch.long, device=x.device)
    return torch.cat(found, dim=1)


def radius(
    x: torch.Tensor,
    y: torch.Tensor,
    r: float,
    batch_x: torch.Tensor | None = None,
    batch_y: torch.Tensor | None = None,
    max_num_neighbors: int | None = None,
    block_elements: int = 1 << 22,
) -> torch.Tensor:
    """(2, E) `[y index, x index]` pairs with |x - y| <= r, at most the nearest `max_num_neighbors` per y."""
    return _neighbours(x, y, r, max_num_neighbors, batch_x, batch_y, False, block_elements)


def radius_graph(
    pos: torch.Tensor,
    r: float,
    batch: torch.Tensor | None = None,
    max_num_neighbors: int | None = None,
    block_elements: int = 1 << 22,
) -> torch.Tensor:
    """(2, E) edges `[source, target]` between points within `r`, at most the nearest `max_num_neighbors` per target."""
    return _neighbours(pos, pos, r, max_num_neighbors, batch, batch, True, block_elements).flip(0)


def knn(
    x: torch.Tensor,
    y: torch.Tensor,
    k: int,
    batch_x: torch.Tensor | None = None,
    batch_y: torch.Tensor | None = None,
    block_elements: int = 1 << 22,
) -> torch.Tensor:
    """(2, E) `[y index, x index]` pairs: the `k` nearest points of x (same batch) for each point of y."""
    return _neighbours(x, y, float("inf"), k, batch_x, batch_y, False, block_elements)


def knn_graph(
    pos: torch.Tensor, k: int, batch: torch.Tensor | None = None, block_elements: int = 1 << 22
) -> torch.Tensor:
    """(2, E) edges `[source, target]` from the `k` nearest other points (same batch) of each target."""
    return _neighbours(pos, pos, float("inf"), k, batch, batch, True, block_elements).flip(0)


def build_complex_graph(
    name: str,
    receptor: Receptor,
    features: LigandFeatures,
    pos: np.ndarray,
    crystal_pos: np.ndarray | None,
    bonds: np.ndarray,
    moving: np.ndarray,
    config: GraphConfig = GraphConfig(),
) -> HeteroData:
    """The training graph of one complex (see `data/README.md` for every field).

    `pos` is the ligand pose the model should reach (the matched conformer); `crystal_pos` the
    pose as read (None when there is none, e.g. a SMILES ligand: stored as NaN); `bonds`,
    `moving` the rotatable bonds and the atoms each moves (`conformers.rotatable_bonds`).
    Cross (ligand-receptor) edges are not stored: the model builds them from the current pose.
    """
    data = HeteroData()
    data.name = name
    ligand_pos = torch.as_tensor(pos, dtype=torch.float32)
    ligand = data[LIGAND]
    ligand.x = torch.as_tensor(features.atom_features)
    ligand.pos = ligand_pos
    ligand.crystal_pos = (
        torch.full_like(ligand_pos, float("nan")) if crystal_pos is None else torch.as_tensor(crystal_pos, dtype=torch.float32)
    )
    data[LIGAND_BOND].edge_index = torch.as_tensor(features.bond_index)
    data[LIGAND_BOND].edge_attr = torch.as_tensor(features.bond_features)
    data[LIGAND_RADIUS].edge_index = radius_graph(ligand_pos, config.ligand_radius, max_num_neighbors=config.ligand_max_neighbors)

    rec = data[RECEPTOR]
    rec.x = torch.as_tensor(receptor.residue_types)
    rec.pos = torch.as_tensor(receptor.ca)
    rec.n_rel = torch.as_tensor(receptor.n_rel)
    rec.c_rel = torch.as_tensor(receptor.c_rel)
    rec.sidechain_rel = torch.as_tensor(receptor.sidechain_rel)
    rec.sidechain_mask = torch.as_tensor(receptor.sidechain_mask)
    data[RECEPTOR_RADIUS].edge_index = radius_graph(
        rec.pos, config.receptor_radius, max_num_neighbors=config.receptor_max_neighbors
    )

    data[TORSION].num_nodes = len(bonds)
    data[ROTATABLE_BOND].edge_index = torch.as_tensor(bonds, dtype=torch.long).reshape(-1, 2).T.contiguous()
    torsion, atom = np.nonzero(moving)
    data[TORSION_MOVES].edge_index = torch.as_tensor(np.stack([torsion, atom]), dtype=torch.long).reshape(2, -1)
    return data


def node_graph(batch: HeteroData, node_type: str) -> Tensor:
    """(N,) graph index of each node of `node_type`; zeros for a single, unbatched graph."""
    store = batch[node_type]
    index = getattr(store, "batch", None)
    if index is None:
        return torch.zeros(store.num_nodes, dtype=torch.long, device=store.pos.device)
    return index


def count_graphs(batch: HeteroData) -> int:
    """Number of complexes in a batch (1 for a single graph)."""
    return int(getattr(batch, "num_graphs", 1))


def torsion_mask(data: HeteroData) -> torch.Tensor:
    """(R, N) bool: which ligand atoms each rotatable bond moves, for one graph or a batch of them."""
    torsion, atom = data[TORSION_MOVES].edge_index
    mask = torch.zeros(data[TORSION].num_nodes, data[LIGAND].num_nodes, dtype=torch.bool, device=atom.device)
    mask[torsion, atom] = True
    return mask
