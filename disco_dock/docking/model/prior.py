"""The DisCo stage-2 prior: an autoregressive distribution over the m node-pointer latents of a
complex, given the protein and the ligand's identity but not its docked pose."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.data import HeteroData
from torch_geometric.utils import scatter

from disco_dock.core.latents import segment_argmax_one_hot, segment_gumbel_softmax_st
from disco_dock.core.layers import mlp
from disco_dock.docking.data.graph import LIGAND, RECEPTOR, count_graphs
from disco_dock.docking.diffusion.schedule import PoseNoiseSchedules
from disco_dock.docking.model.config import ScoreModelConfig
from disco_dock.docking.model.graph import join_latents, latent_segment, node_graph
from disco_dock.docking.model.score import ScoreModel
from disco_dock.docking.model.trunk import ComplexTrunk


def segment_log_softmax(logits: Tensor, segment: Tensor, num_segments: int) -> Tensor:
    """Log-softmax of `logits` (N, m) within each segment (rows sharing `segment`), per column."""
    maxima = scatter(logits.detach(), segment, dim=0, dim_size=num_segments, reduce="max")
    shifted = logits - maxima[segment]
    log_totals = scatter(shifted.exp(), segment, dim=0, dim_size=num_segments, reduce="sum").log()
    return shifted - log_totals[segment]


class PointerPrior(nn.Module):
    """p(z_1, ..., z_m | protein, ligand) = prod_i p(z_i | z_<i, protein, ligand), each z_i one
    node (ligand atom or receptor residue) of the complex.

    The caller gives a batch whose ligand `pos` carries no answer: a fresh conformer at the
    protein (or pocket) centre in a random orientation, as the reverse diffusion starts from.
    A `ComplexTrunk` (`config.num_layers` layers, every receptor residue updated, since the
    receptor's outputs are read) runs once on it and gives invariant node scalars. Its cross
    cutoff is the score model's at the largest translation noise,
    `config.cross_cutoff(schedules.translation.sigma_max)` (67 A by default; the neighbour cap
    keeps it cheap), so every atom sees its nearest residues wherever the conformer was put.
    Its node conditioning is fixed: the buffers `ligand_condition` and `receptor_condition`
    (ns,), zero until `load_trunk_from` sets them to what the score model's trunk receives at
    the largest noise levels with its latents dropped, i.e. on the same kind of input.

    The autoregressive head then scores every node for latent i with one MLP of: the node's
    scalars and a ligand/residue flag, an embedding of the node's 0/1 labels under latents
    j < i, per earlier latent j the scalars of the node it chose in this complex, and an
    embedding of i. So the trunk runs once and the head m times (all at once when teacher
    forced). Latents and logits are in the latent node order of `disco_dock.docking.model.graph`.
    """

    def __init__(self, config: ScoreModelConfig = ScoreModelConfig(), schedules: PoseNoiseSchedules = PoseNoiseSchedules()):
        super().__init__()
        if config.num_latents < 1:
            raise ValueError("a pointer prior needs num_latents >= 1")
        self.config, self.schedules = config, schedules
        ns, num_latents = config.ns, config.num_latents
        self.trunk = ComplexTrunk(config, config.num_layers, read_receptor=True)
        self.register_buffer("ligand_condition", torch.zeros(ns))
        self.register_buffer("receptor_condition", torch.zeros(ns))
        node_dim = ns + 1  # scalars and the is-ligand flag
        self.label_embedding = nn.Linear(num_latents, ns, bias=False)
        self.position_embedding = nn.Embedding(num_latents, ns)
        self.head = mlp([node_dim + 2 * ns + num_latents * node_dim, ns, ns, 1])

    def logits(self, batch: HeteroData, latents: Tensor) -> Tensor:
        """Teacher-forced logits (N_lig + N_rec, m): column i scores every node for latent i
        given the earlier columns j < i of `latents` (one-hot or soft, (N_lig + N_rec, m))."""
        positions = torch.arange(latents.shape[1], device=latents.device)
        return self._head(self._node_features(batch), latent_segment(batch), count_graphs(batch), latents, positions)

    def log_prob(self, batch: HeteroData, latents: Tensor) -> Tensor:
        """(G,) log p(latents | complex) summed over the m latents; soft `latents` (probabilities
        per segment and column, e.g. the encoder's) give minus the cross-entropy."""
        segment, num_graphs = latent_segment(batch), count_graphs(batch)
        log_probs = segment_log_softmax(self.logits(batch, latents), segment, num_graphs)
        return scatter((latents * log_probs).sum(dim=1), segment, dim=0, dim_size=num_graphs, reduce="sum")

    def loss(self, batch: HeteroData, targets: Tensor) -> Tensor:
        """Mean over complexes of the cross-entropy (summed over latents) of `targets` (N_lig + N_rec, m),
        one-hot or soft (e.g. the encoder's segment-wise probabilities)."""
        return -self.log_prob(batch, targets).mean()

    @torch.no_grad()
    def sample(self, batch: HeteroData, temperature: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
        """Ancestral samples (N_lig + N_rec, m), one-hot per complex and latent; each latent's
        logits are divided by `temperature` (towards 0: greedy decoding)."""
        segment, num_graphs = latent_segment(batch), count_graphs(batch)
        nodes = self._node_features(batch)
        latents = nodes.new_zeros(len(segment), self.config.num_latents)
        for i in range(self.config.num_latents):
            logits = self._head(nodes, segment, num_graphs, latents, torch.tensor([i], device=latents.device))
            relaxed = segment_gumbel_softmax_st(logits / temperature, segment, num_graphs, generator=generator)
            latents[:, i : i + 1] = segment_argmax_one_hot(relaxed, segment, num_graphs)  # its hard part, exactly 0/1
        return latents

    def load_trunk_from(self, score_model: ScoreModel) -> list[str]:
        """Copy the score model's trunk weights and set the fixed node conditioning to the score
        model's at the largest noise levels with latents dropped.

        Returns the names of this trunk's parameters that were not copied: those the score
        model's trunk lacks or has in another shape (with `read_receptor=False` its last layer
        does not update the receptor, so that layer's receptor convolutions and norm stay new).
        """
        not_copied = self.trunk.copy_from(score_model.trunk)
        with torch.no_grad():
            sigmas = self.ligand_condition.new_tensor(self.schedules.sigmas(1.0))
            noise = score_model.noise_embedding(score_model.noise_features(sigmas.log()).flatten())
            self.ligand_condition.copy_(noise)
            self.receptor_condition.copy_(noise)
            if score_model.latent_labels is not None:  # what `LatentLabels` adds for dropped latents
                self.ligand_condition += score_model.latent_labels.ligand_null.sum(dim=0)
                self.receptor_condition += score_model.latent_labels.receptor_null.sum(dim=0)
        return not_copied

    def freeze_trunk(self, frozen: bool = True) -> None:
        """Stop (or restart) gradient updates of the trunk's weights; the head always trains."""
        self.trunk.requires_grad_(not frozen)

    def _node_features(self, batch: HeteroData) -> Tensor:
        """(N_lig + N_rec, ns + 1) trunk scalars and is-ligand flag, in the latent node order."""
        cutoff = batch[LIGAND].pos.new_full((count_graphs(batch),), self.config.cross_cutoff(self.schedules.translation.sigma_max))
        ligand_graph, receptor_graph = node_graph(batch, LIGAND), node_graph(batch, RECEPTOR)
        ligand_condition = self.ligand_condition.expand(len(ligand_graph), -1)
        receptor_condition = self.receptor_condition.expand(len(receptor_graph), -1)
        ligand, receptor = self.trunk(batch, batch[LIGAND].pos, cutoff, ligand_condition, receptor_condition)
        ns = self.config.ns
        return join_latents(
            torch.cat([ligand[:, :ns], ligand.new_ones(len(ligand), 1)], dim=1),
            torch.cat([receptor[:, :ns], receptor.new_zeros(len(receptor), 1)], dim=1),
        )

    def _head(self, nodes: Tensor, segment: Tensor, num_graphs: int, latents: Tensor, positions: Tensor) -> Tensor:
        """Logits (N, k) of latents `positions` (k,), each seeing only the columns j < i of `latents`."""
        visible = (torch.arange(latents.shape[1], device=latents.device) < positions[:, None]).to(latents.dtype)  # (k, m)
        labels = self.label_embedding(latents * visible[:, None, :])  # (k, N, ns)
        chosen = scatter(latents[:, :, None] * nodes[:, None, :], segment, dim=0, dim_size=num_graphs, reduce="sum")  # (G, m, ns + 1)
        summary = (chosen * visible[:, None, :, None]).flatten(2)[:, segment]  # (k, N, m (ns + 1))
        position = self.position_embedding(positions)[:, None, :].expand(-1, len(nodes), -1)
        features = torch.cat([nodes.expand(len(positions), -1, -1), labels, summary, position], dim=-1)
        return self.head(features).squeeze(-1).T
