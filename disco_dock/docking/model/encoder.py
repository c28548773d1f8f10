"""The DisCo latent encoder: which ligand atom or receptor residue each latent points at."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from disco_dock.core.layers import mlp
from disco_dock.docking.data.graph import LIGAND, count_graphs
from disco_dock.docking.model.config import ScoreModelConfig
from disco_dock.docking.model.graph import join_latents, latent_segment
from disco_dock.docking.model.trunk import ComplexTrunk


class LatentEncoder(nn.Module):
    """Invariant logits of the m latents over every node of each crystal complex.

    A `ComplexTrunk` of `config.encoder_layers` layers, without noise input, on the ligand
    at `crystal_pos` (cross cutoff `config.cross_distance_base`), then an MLP of each node's
    scalars. Sample latents with
    `segment_gumbel_softmax_st(logits, segment, count_graphs(batch), tau)`.
    """

    def __init__(self, config: ScoreModelConfig = ScoreModelConfig()):
        super().__init__()
        if config.num_latents < 1:
            raise ValueError("a latent encoder needs num_latents >= 1")
        self.config = config
        self.trunk = ComplexTrunk(config, config.encoder_layers, read_receptor=True)
        self.ligand_logits = mlp([config.ns, config.ns, config.num_latents])
        self.receptor_logits = mlp([config.ns, config.ns, config.num_latents])

    def forward(self, batch: HeteroData) -> tuple[Tensor, Tensor]:
        """Logits (N_lig + N_rec, m) in the latent node order of `disco_dock.docking.model.graph`,
        and the segment (N_lig + N_rec,): each row's graph."""
        crystal_pos = batch[LIGAND].crystal_pos
        if torch.isnan(crystal_pos).any():
            raise ValueError("the latent encoder needs crystal poses; this batch has a ligand without one")
        cutoff = crystal_pos.new_full((count_graphs(batch),), self.config.cross_distance_base)
        ligand, receptor = self.trunk(batch, crystal_pos, cutoff)
        ns = self.config.ns
        logits = join_latents(self.ligand_logits(ligand[:, :ns]), self.receptor_logits(receptor[:, :ns]))
        return logits, latent_segment(batch)
