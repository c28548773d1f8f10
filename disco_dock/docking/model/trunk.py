"""The shared body of the score model and the latent encoder: node and edge embeddings of a
complex, then rounds of tensor-product message passing over its four edge sets."""

from __future__ import annotations

from typing import NamedTuple

import torch
from e3nn import o3
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from disco_dock.docking.data.graph import LIGAND, LIGAND_BOND, RECEPTOR
from disco_dock.docking.data.ligand import ATOM_FEATURES, BOND_FEATURES
from disco_dock.docking.data.protein import NUM_RESIDUE_TYPES
from disco_dock.docking.model.config import NODE, ScoreModelConfig
from disco_dock.docking.model.graph import cross_edges, hops_to, ligand_edges, receptor_edges
from disco_dock.docking.model.layers import (
    CategoricalEmbedding,
    DistanceEmbedding,
    EquivariantNorm,
    TensorProductConv,
    spherical_harmonics,
)


def node_irreps(config: ScoreModelConfig) -> o3.Irreps:
    """Features of every node: ns scalars, nv vectors and nv pseudovectors."""
    return o3.Irreps(f"{config.ns}x0e + {config.nv}x1o + {config.nv}x1e")


class EdgeSet(NamedTuple):
    """Edges of one kind: `index` (2, E) [source, target], invariant `scalars` (E, ns) and the
    spherical harmonics `sh` of source - target."""

    index: Tensor
    scalars: Tensor
    sh: Tensor

    def into(self, keep: Tensor) -> "EdgeSet":
        """The edges whose target is marked in `keep` (bool, one per target node)."""
        mask = keep[self.index[1]]
        return EdgeSet(self.index[:, mask], self.scalars[mask], self.sh[mask])


class ComplexEdges(NamedTuple):
    """The four edge sets one interaction layer reads."""

    ligand: EdgeSet
    receptor: EdgeSet
    ligand_to_receptor: EdgeSet
    receptor_to_ligand: EdgeSet


class InteractionLayer(nn.Module):
    """One round of messages with residual updates: ligand <- ligand and ligand <- receptor,
    and, when `update_receptor`, receptor <- receptor and receptor <- ligand.

    The weights of each edge's tensor product come from its embedding and the scalars of both
    of its ends, as in DiffDock.
    """

    def __init__(self, config: ScoreModelConfig, sh_irreps: o3.Irreps, update_receptor: bool):
        super().__init__()
        irreps, self.ns, self.update_receptor = node_irreps(config), config.ns, update_receptor

        def conv() -> TensorProductConv:
            return TensorProductConv(irreps, sh_irreps, irreps, 3 * config.ns, config.dropout)

        def norm() -> EquivariantNorm:
            return EquivariantNorm(irreps, normalise_others=config.vector_norm == NODE)

        self.ligand_from_ligand, self.ligand_from_receptor, self.ligand_norm = conv(), conv(), norm()
        if update_receptor:
            self.receptor_from_receptor, self.receptor_from_ligand = conv(), conv()
            self.receptor_norm = norm()

    def _messages(self, conv: TensorProductConv, source: Tensor, target: Tensor, edges: EdgeSet) -> Tensor:
        """Mean message at each target node."""
        scalars = torch.cat([edges.scalars, source[edges.index[0], : self.ns], target[edges.index[1], : self.ns]], dim=1)
        return conv(source, edges.index, scalars, edges.sh, target.shape[0])

    def forward(self, ligand: Tensor, receptor: Tensor, edges: ComplexEdges) -> tuple[Tensor, Tensor]:
        """Updated (ligand, receptor) node features (the receptor's unchanged unless `update_receptor`)."""
        ligand_update = self._messages(self.ligand_from_ligand, ligand, ligand, edges.ligand) + self._messages(
            self.ligand_from_receptor, receptor, ligand, edges.receptor_to_ligand
        )
        if self.update_receptor:
            receptor_update = self._messages(self.receptor_from_receptor, receptor, receptor, edges.receptor) + self._messages(
                self.receptor_from_ligand, ligand, receptor, edges.ligand_to_receptor
            )
            receptor = self.receptor_norm(receptor + receptor_update)
        return self.ligand_norm(ligand + ligand_update), receptor


class ComplexTrunk(nn.Module):
    """Embeds the nodes and edges of a batch of complexes and runs `num_layers` interaction layers.

    Ligand atoms start from their embedded categories (`ATOM_FEATURES`) and zero vectors;
    receptor residues from their embedded type and, as 1o vectors, the N, C and side-chain
    centroid positions relative to CA. Ligand edges (bonds, with their embedded
    `BOND_FEATURES`, and radius neighbours) and cross edges are built from the given ligand
    pose; receptor edges are the graph's.

    With `read_receptor=False` (a network that reads only the ligand's output) the receptor is
    updated only where that can still reach the ligand: nowhere in the last layer, at the
    residues on cross edges in the layer before, within one receptor hop of them before
    that, and so on. The ligand's output is exactly the same, at a fraction of the cost for
    large proteins; the receptor features returned are then not meaningful.
    """

    def __init__(self, config: ScoreModelConfig, num_layers: int, read_receptor: bool):
        super().__init__()
        self.config, self.read_receptor = config, read_receptor
        self.sh_irreps = o3.Irreps.spherical_harmonics(config.sh_lmax)
        ns, nv = config.ns, config.nv
        self.ligand_embedding = CategoricalEmbedding([size for _, size in ATOM_FEATURES], ns)
        self.receptor_embedding = CategoricalEmbedding([NUM_RESIDUE_TYPES], ns)
        self.receptor_vectors = o3.Linear("3x1o", f"{nv}x1o")
        self.bond_embedding = CategoricalEmbedding([size for _, size in BOND_FEATURES], ns)
        self.no_bond = nn.Parameter(torch.zeros(ns))
        self.ligand_distance = DistanceEmbedding(config.graph.ligand_radius, config.distance_embed_dim, ns)
        self.receptor_distance = DistanceEmbedding(config.graph.receptor_radius, config.distance_embed_dim, ns)
        self.cross_distance = DistanceEmbedding(config.cross_embedding_range, config.distance_embed_dim, ns)
        self.layers = nn.ModuleList(
            InteractionLayer(config, self.sh_irreps, update_receptor=read_receptor or i < num_layers - 1) for i in range(num_layers)
        )

    def copy_from(self, other: ComplexTrunk) -> list[str]:
        """Copy `other`'s weights where this trunk has them in the same shape; returns the names of
        this trunk's parameters left as they were (e.g. the receptor update of a last layer that
        `other` does not have)."""
        source, target = other.state_dict(), self.state_dict()
        copied = {name: value for name, value in source.items() if name in target and target[name].shape == value.shape}
        self.load_state_dict(copied, strict=False)
        return [name for name, _ in self.named_parameters() if name not in copied]

    def _edge_set(self, index: Tensor, source_pos: Tensor, target_pos: Tensor, embedding: DistanceEmbedding) -> EdgeSet:
        vectors = source_pos[index[0]] - target_pos[index[1]]
        return EdgeSet(index, embedding(vectors.norm(dim=-1)), spherical_harmonics(self.sh_irreps, vectors))

    def edges(self, batch: HeteroData, ligand_pos: Tensor, cross_cutoff: Tensor) -> ComplexEdges:
        """The four edge sets of the complexes with the ligands at `ligand_pos`; cross edges
        within each complex's `cross_cutoff` (G,)."""
        receptor_pos = batch[RECEPTOR].pos
        index, num_bonds = ligand_edges(batch, ligand_pos, self.config)
        ligand = self._edge_set(index, ligand_pos, ligand_pos, self.ligand_distance)
        bonds = torch.cat([self.bond_embedding(batch[LIGAND_BOND].edge_attr), self.no_bond.expand(index.shape[1] - num_bonds, -1)])
        ligand = ligand._replace(scalars=ligand.scalars + bonds)
        receptor = self._edge_set(receptor_edges(batch, self.config), receptor_pos, receptor_pos, self.receptor_distance)
        cross = cross_edges(batch, ligand_pos, cross_cutoff, self.config)
        ligand_to_receptor = self._edge_set(cross, ligand_pos, receptor_pos, self.cross_distance)
        receptor_to_ligand = self._edge_set(cross.flip(0), receptor_pos, ligand_pos, self.cross_distance)
        return ComplexEdges(ligand, receptor, ligand_to_receptor, receptor_to_ligand)

    def forward(
        self,
        batch: HeteroData,
        ligand_pos: Tensor,
        cross_cutoff: Tensor,
        ligand_condition: Tensor | None = None,
        receptor_condition: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Ligand (N_lig, dim) and receptor (N_rec, dim) features of `node_irreps(config)`.

        `ligand_condition` (N_lig, ns) and `receptor_condition` (N_rec, ns), when given, are
        added to the initial node scalars (noise level, latent labels).
        """
        receptor_store = batch[RECEPTOR]
        ligand_scalars = self.ligand_embedding(batch[LIGAND].x)
        receptor_scalars = self.receptor_embedding(receptor_store.x[:, None])
        if ligand_condition is not None:
            ligand_scalars = ligand_scalars + ligand_condition
        if receptor_condition is not None:
            receptor_scalars = receptor_scalars + receptor_condition
        sidechain = receptor_store.sidechain_rel * receptor_store.sidechain_mask[:, None].to(receptor_store.sidechain_rel.dtype)
        orientation = self.receptor_vectors(torch.cat([receptor_store.n_rel, receptor_store.c_rel, sidechain], dim=1))
        ligand = torch.cat([ligand_scalars, ligand_scalars.new_zeros(len(ligand_scalars), 6 * self.config.nv)], dim=1)
        receptor = torch.cat([receptor_scalars, orientation, orientation.new_zeros(len(orientation), 3 * self.config.nv)], dim=1)
        edges = self.edges(batch, ligand_pos, cross_cutoff)
        for layer, layer_edges in zip(self.layers, self._edges_per_layer(edges, len(receptor))):
            ligand, receptor = layer(ligand, receptor, layer_edges)
        return ligand, receptor

    def _edges_per_layer(self, edges: ComplexEdges, num_receptor: int) -> list[ComplexEdges]:
        """Each layer's edges: all of them, or (`read_receptor=False`) only the receptor-bound
        edges into residues whose update can still reach the ligand."""
        if self.read_receptor:
            return [edges] * len(self.layers)
        on_cross_edges = torch.zeros(num_receptor, dtype=torch.bool, device=edges.receptor.index.device)
        on_cross_edges[edges.ligand_to_receptor.index[1]] = True
        hops = hops_to(on_cross_edges, edges.receptor.index, num_receptor, max(len(self.layers) - 2, 0))
        per_layer = []
        for remaining in range(len(self.layers) - 2, -2, -1):  # receptor hops still to go after this layer
            keep = hops <= remaining
            per_layer.append(edges._replace(receptor=edges.receptor.into(keep), ligand_to_receptor=edges.ligand_to_receptor.into(keep)))
        return per_layer
