"""How the networks read a complex graph: per-node graph indices, the latent node order, and
the edges built from the ligand's current pose.

Latent node order: the latents and the encoder's logits are (N_lig + N_rec, m) tensors with
the ligand atoms of the whole batch first, then the receptor residues of the whole batch,
each block in the batch's own node order (so graph g's nodes are not contiguous). Every
complex is one segment, as `disco_dock.core.latents.segment_gumbel_softmax_st` expects:
`latent_segment(batch)` gives each row's graph. `split_latents` / `join_latents` convert
between this and the per-node-type blocks.

Edges follow `disco_dock.docking.data.graph`: `edge_index = [source, target]`, messages flow
from source to target.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from disco_dock.docking.data.graph import (
    LIGAND,
    LIGAND_BOND,
    RECEPTOR,
    RECEPTOR_RADIUS,
    ROTATABLE_BOND,
    node_graph,
    radius,
    radius_graph,
)
from disco_dock.docking.model.config import ScoreModelConfig


def latent_segment(batch: HeteroData) -> Tensor:
    """(N_lig + N_rec,) graph index of each row of the latents, in the latent node order."""
    return torch.cat([node_graph(batch, LIGAND), node_graph(batch, RECEPTOR)])


def split_latents(values: Tensor, batch: HeteroData) -> tuple[Tensor, Tensor]:
    """(N_lig + N_rec, m) rows in the latent node order -> ligand (N_lig, m), receptor (N_rec, m)."""
    num_ligand = batch[LIGAND].num_nodes
    if values.shape[0] != num_ligand + batch[RECEPTOR].num_nodes:
        raise ValueError(f"expected {num_ligand + batch[RECEPTOR].num_nodes} latent rows, got {values.shape[0]}")
    return values[:num_ligand], values[num_ligand:]


def join_latents(ligand: Tensor, receptor: Tensor) -> Tensor:
    """Ligand (N_lig, m) and receptor (N_rec, m) rows -> (N_lig + N_rec, m) in the latent node order."""
    return torch.cat([ligand, receptor])


def ligand_edges(batch: HeteroData, pos: Tensor, config: ScoreModelConfig) -> tuple[Tensor, int]:
    """Ligand-ligand edges: the bonds, then radius neighbours in pose `pos`.

    Returns edge_index (2, B + E) and the number B of bond edges (the first B columns, which
    line up with the bond features).
    """
    bonds = batch[LIGAND_BOND].edge_index
    with torch.no_grad():
        near = radius_graph(pos, config.graph.ligand_radius, node_graph(batch, LIGAND), config.graph.ligand_max_neighbors)
    return torch.cat([bonds, near], dim=1), bonds.shape[1]


def receptor_edges(batch: HeteroData, config: ScoreModelConfig) -> Tensor:
    """Receptor-receptor edges: the graph's stored ones no longer than `config.graph.receptor_radius`."""
    edge_index = batch[RECEPTOR_RADIUS].edge_index
    pos = batch[RECEPTOR].pos
    length = (pos[edge_index[0]] - pos[edge_index[1]]).norm(dim=-1)
    return edge_index[:, length <= config.graph.receptor_radius]


def cross_edges(batch: HeteroData, pos: Tensor, cutoff: Tensor, config: ScoreModelConfig) -> Tensor:
    """(2, E) `[ligand atom, receptor residue]` pairs of the same complex, closer than that
    complex's `cutoff` (G,), at most `config.cross_max_neighbors` nearest residues per atom."""
    ligand_graph = node_graph(batch, LIGAND)
    receptor_pos = batch[RECEPTOR].pos
    with torch.no_grad():
        pairs = radius(
            receptor_pos, pos, float(cutoff.max()), node_graph(batch, RECEPTOR), ligand_graph, config.cross_max_neighbors
        )
        length = (pos[pairs[0]] - receptor_pos[pairs[1]]).norm(dim=-1)
        return pairs[:, length <= cutoff[ligand_graph[pairs[0]]]]


def rotatable_bond_atoms(batch: HeteroData) -> Tensor:
    """(2, R) `[u, v]` ligand atoms of each rotatable bond (v's side moves), in torsion order."""
    return batch[ROTATABLE_BOND].edge_index


def bond_neighbourhoods(batch: HeteroData, pos: Tensor, config: ScoreModelConfig) -> Tensor:
    """(2, E) `[ligand atom, rotatable bond]` pairs: the atoms within `config.graph.ligand_radius` of
    each bond's centre (same complex)."""
    u, v = rotatable_bond_atoms(batch)
    ligand_graph = node_graph(batch, LIGAND)
    with torch.no_grad():
        pairs = radius(pos, (pos[u] + pos[v]) / 2, config.graph.ligand_radius, ligand_graph, ligand_graph[u])
    return pairs.flip(0)


def hops_to(targets: Tensor, edge_index: Tensor, num_nodes: int, max_hops: int) -> Tensor:
    """(num_nodes,) number of message-passing steps from each node to the `targets` (bool
    (num_nodes,)) along `edge_index` [source, target]: 0 for the targets, `max_hops + 1` for
    nodes farther than `max_hops`."""
    hops = torch.full((num_nodes,), max_hops + 1, dtype=torch.long, device=edge_index.device)
    hops[targets] = 0
    for hop in range(max_hops):
        reached = torch.zeros_like(targets)
        reached[edge_index[0, hops[edge_index[1]] <= hop]] = True
        hops = torch.where(reached & (hops > hop), torch.full_like(hops, hop + 1), hops)
    return hops
