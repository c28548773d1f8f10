"""The confidence model: how likely a docked pose is within 2 A RMSD of the crystal pose."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.data import HeteroData
from torch_geometric.utils import scatter

from disco_dock.core.layers import mlp
from disco_dock.docking.data.graph import LIGAND, count_graphs
from disco_dock.docking.model.config import ScoreModelConfig
from disco_dock.docking.model.graph import node_graph
from disco_dock.docking.model.trunk import ComplexTrunk


class ConfidenceModel(nn.Module):
    """Invariant logit (per complex) that the pose `batch['ligand'].pos` has RMSD < 2 A.

    A `ComplexTrunk` of `config.num_layers` layers without noise or latent input, on the pose
    with cross cutoff `config.cross_distance_base`; the ligand atoms' scalars pooled per
    complex (mean and max), then an MLP. For a smaller network pass e.g.
    `config.replace(num_layers=3)`.
    """

    def __init__(self, config: ScoreModelConfig = ScoreModelConfig()):
        super().__init__()
        self.config = config
        self.trunk = ComplexTrunk(config, config.num_layers, read_receptor=False)
        self.out = mlp([2 * config.ns, config.ns, 1])

    def forward(self, batch: HeteroData) -> Tensor:
        """(G,) logits of "RMSD < 2 A" for the batch's ligand poses."""
        pos, ligand_graph, num_graphs = batch[LIGAND].pos, node_graph(batch, LIGAND), count_graphs(batch)
        ligand, _ = self.trunk(batch, pos, pos.new_full((num_graphs,), self.config.cross_distance_base))
        scalars = ligand[:, : self.config.ns]
        pooled = [scatter(scalars, ligand_graph, dim=0, dim_size=num_graphs, reduce=reduce) for reduce in ("mean", "max")]
        return self.out(torch.cat(pooled, dim=1)).squeeze(-1)
