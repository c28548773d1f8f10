"""The DiffDock-style score model, conditioned on DisCo latents that point at graph nodes."""

from __future__ import annotations

from typing import NamedTuple

import torch
from e3nn import o3
from torch import Tensor, nn
from torch_geometric.data import HeteroData
from torch_geometric.utils import scatter

from disco_dock.core.layers import SinusoidalEmbedding, mlp
from disco_dock.docking.data.graph import LIGAND, RECEPTOR, count_graphs
from disco_dock.docking.model.config import DIRECTION, ScoreModelConfig
from disco_dock.docking.model.graph import (
    bond_neighbourhoods,
    latent_segment,
    node_graph,
    rotatable_bond_atoms,
    split_latents,
)
from disco_dock.docking.model.layers import (
    DistanceEmbedding,
    TensorProductConv,
    spherical_harmonics,
)
from disco_dock.docking.model.trunk import ComplexTrunk, node_irreps


class Scores(NamedTuple):
    """Unit-normalised scores of a batch; the caller scales them (see `ScoreModel`)."""

    translation: Tensor  # (G, 3), a vector (1o)
    rotation: Tensor  # (G, 3), a pseudovector (1e): rotation axis times angle
    torsion: Tensor  # (R,), a pseudoscalar (0o) per rotatable bond


class LatentLabels(nn.Module):
    """Node features of m pointer latents.

    Latent j adds a learned vector (one for ligand atoms, one for residues) to the node it
    points at (its 0/1 label column); a complex whose latent j is dropped (all-zero column,
    `latent_dropped`, or `latents=None`) instead gets latent j's learned null vector on every node.
    """

    def __init__(self, num_latents: int, dim: int):
        super().__init__()
        self.ligand_label = nn.Linear(num_latents, dim, bias=False)
        self.receptor_label = nn.Linear(num_latents, dim, bias=False)
        self.ligand_null = nn.Parameter(torch.randn(num_latents, dim) / dim**0.5)
        self.receptor_null = nn.Parameter(torch.randn(num_latents, dim) / dim**0.5)

    def forward(self, batch: HeteroData, latents: Tensor | None, latent_dropped: Tensor | None) -> tuple[Tensor, Tensor]:
        """Ligand (N_lig, dim) and receptor (N_rec, dim) features; see `ScoreModel.forward`."""
        segment, num_graphs = latent_segment(batch), count_graphs(batch)
        if latents is None:
            latents = self.ligand_null.new_zeros(len(segment), self.ligand_null.shape[0])
        if latent_dropped is not None:
            latents = latents * (~latent_dropped)[segment, None].to(latents.dtype)
        absent = 1 - scatter(latents.detach(), segment, dim=0, dim_size=num_graphs, reduce="sum")  # (G, m)
        ligand, receptor = split_latents(latents, batch)
        ligand_graph, receptor_graph = node_graph(batch, LIGAND), node_graph(batch, RECEPTOR)
        return (
            self.ligand_label(ligand) + absent[ligand_graph] @ self.ligand_null,
            self.receptor_label(receptor) + absent[receptor_graph] @ self.receptor_null,
        )


class ScoreModel(nn.Module):
    """Scores of the translation, rotation and torsions of the ligand's current pose.

    A `ComplexTrunk` conditioned on the noise levels and latents, then DiffDock's heads: a
    tensor-product convolution from the ligand atoms onto their centroid (1o translation, 1e
    rotation, each rescaled by an MLP of its norm and the noise levels), and for each rotatable
    bond one from the atoms within `ligand_radius` of the bond's centre, with the edge
    harmonics multiplied by the l=2 harmonics of the bond axis, giving a pseudoscalar.

    Outputs are unit-normalised, and the caller scales them (DiffDock does it inside its
    model): translation score = translation / sigma_tr, rotation score = rotation * (typical
    norm of the IGSO3 score at sigma_rot), torsion score = torsion * (typical norm of the
    wrapped-normal score at sigma_tor).
    """

    def __init__(self, config: ScoreModelConfig = ScoreModelConfig()):
        super().__init__()
        self.config = config
        ns, irreps = config.ns, node_irreps(config)
        self.trunk = ComplexTrunk(config, config.num_layers, read_receptor=False)
        self.noise_features = SinusoidalEmbedding(config.time_embed_dim, min_period=0.5, max_period=50.0)
        self.noise_embedding = mlp([3 * config.time_embed_dim, ns, ns])
        self.latent_labels = LatentLabels(config.num_latents, ns) if config.num_latents else None
        sh_irreps = self.trunk.sh_irreps
        self.center_distance = DistanceEmbedding(config.center_embedding_range, config.distance_embed_dim, ns)
        self.center_conv = TensorProductConv(irreps, sh_irreps, o3.Irreps("1x1o + 1x1e"), 3 * ns, config.dropout)
        self.translation_norm = mlp([1 + ns, ns, 1])
        self.rotation_norm = mlp([1 + ns, ns, 1])
        self.axis_irreps = o3.Irreps(config.torsion_axis)
        self.axis_product = o3.FullTensorProduct(sh_irreps, self.axis_irreps)
        self.bond_distance = DistanceEmbedding(config.graph.ligand_radius, config.distance_embed_dim, ns)
        self.torsion_conv = TensorProductConv(irreps, self.axis_product.irreps_out, o3.Irreps(f"{ns}x0o"), 3 * ns, config.dropout)
        self.torsion_out = nn.Sequential(nn.Linear(ns, ns, bias=False), nn.Tanh(), nn.Linear(ns, 1, bias=False))  # odd: stays 0o

    def forward(
        self,
        batch: HeteroData,
        sigma_tr: Tensor,
        sigma_rot: Tensor,
        sigma_tor: Tensor,
        latents: Tensor | None = None,
        latent_dropped: Tensor | None = None,
    ) -> Scores:
        """Scores of the pose `batch['ligand'].pos`.

        `sigma_tr` (A), `sigma_rot`, `sigma_tor` (radians): the per-graph (G,) noise levels (> 0),
        embedded by their logarithms; `sigma_tr` also sets the cross-edge cutoff. `latents`
        (N_lig + N_rec, m) one-hot per complex and latent, in the latent node order of
        `disco_dock.docking.model.graph` (straight-through samples carry gradients to the
        encoder); None, or an all-zero column, or `latent_dropped` (G,) bool = the null embedding.
        """
        pos = batch[LIGAND].pos
        ligand_graph = node_graph(batch, LIGAND)
        noise = self.noise_embedding(self.noise_features(torch.stack([sigma_tr, sigma_rot, sigma_tor], dim=1).log()).flatten(1))
        ligand_condition, receptor_condition = noise[ligand_graph], noise[node_graph(batch, RECEPTOR)]
        if self.latent_labels is not None:
            ligand_labels, receptor_labels = self.latent_labels(batch, latents, latent_dropped)
            ligand_condition, receptor_condition = ligand_condition + ligand_labels, receptor_condition + receptor_labels
        elif latents is not None and latents.shape[-1]:
            raise ValueError("this model has no latents (num_latents=0)")
        cutoff = self.config.cross_cutoff(sigma_tr)
        ligand, _ = self.trunk(batch, pos, cutoff, ligand_condition, receptor_condition)
        translation, rotation = self._rigid_scores(ligand, pos, ligand_graph, noise)
        return Scores(translation, rotation, self._torsion_scores(batch, ligand, pos))

    def _rigid_scores(self, ligand: Tensor, pos: Tensor, ligand_graph: Tensor, noise: Tensor) -> tuple[Tensor, Tensor]:
        """Translation (G, 3) and rotation (G, 3) from a convolution of the atoms onto their centroid."""
        num_graphs = noise.shape[0]
        centroid = scatter(pos, ligand_graph, dim=0, dim_size=num_graphs, reduce="mean")
        vectors = pos - centroid[ligand_graph]
        scalars = torch.cat([self.center_distance(vectors.norm(dim=-1)), ligand[:, : self.config.ns], noise[ligand_graph]], dim=1)
        edges = torch.stack([torch.arange(len(pos), device=pos.device), ligand_graph])
        out = self.center_conv(ligand, edges, scalars, spherical_harmonics(self.trunk.sh_irreps, vectors), num_graphs)
        return self._scaled(out[:, :3], self.translation_norm, noise), self._scaled(out[:, 3:], self.rotation_norm, noise)

    def _scaled(self, vector: Tensor, norm_mlp: nn.Module, noise: Tensor) -> Tensor:
        """A rigid head's (G, 3) output: `vector` (or its direction, see `rigid_head`) times the MLP of its norm and the noise."""
        norm = vector.norm(dim=1, keepdim=True)
        scale = norm_mlp(torch.cat([norm, noise], dim=1))
        if self.config.rigid_head == DIRECTION:
            return vector / (norm + 1e-6) * scale
        return vector * scale

    def _torsion_scores(self, batch: HeteroData, ligand: Tensor, pos: Tensor) -> Tensor:
        """(R,) pseudoscalar per rotatable bond from the atoms around the bond's centre."""
        u, v = rotatable_bond_atoms(batch)
        atom, bond = edges = bond_neighbourhoods(batch, pos, self.config)
        vectors = pos[atom] - (pos[u] + pos[v])[bond] / 2
        axis_sh = o3.spherical_harmonics(self.axis_irreps, pos[v] - pos[u], normalize=True, normalization="component")
        edge_sh = self.axis_product(spherical_harmonics(self.trunk.sh_irreps, vectors), axis_sh[bond])
        ns = self.config.ns
        bond_scalars = ligand[u, :ns] + ligand[v, :ns]
        scalars = torch.cat([self.bond_distance(vectors.norm(dim=-1)), ligand[atom, :ns], bond_scalars[bond]], dim=1)
        return self.torsion_out(self.torsion_conv(ligand, edges, scalars, edge_sh, u.shape[0])).squeeze(-1)
