"""What each training stage minimises: modules whose `forward(batch)` gives the loss and its
named parts (the loop of `core.fit` trains them, and DDP wraps them)."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from disco_dock.core.latents import segment_gumbel_softmax_st, segment_softmax
from disco_dock.docking.config import DockingConfig
from disco_dock.docking.data.graph import count_graphs
from disco_dock.docking.diffusion.noising import noise_batch, score_matching_loss
from disco_dock.docking.model.confidence import ConfidenceModel
from disco_dock.docking.model.encoder import LatentEncoder
from disco_dock.docking.model.prior import PointerPrior
from disco_dock.docking.model.score import ScoreModel
from disco_dock.docking.training.views import placed_at_centre


class ScoreObjective(nn.Module):
    """Stage 1: the score model and (with latents) the latent encoder; `forward(batch)` gives
    the denoising score-matching loss (weighted by `loss_weights`) and its parts. With
    `noise_draws` k > 1 the loss is the mean of k draws of noise (and latents) on the same batch."""

    def __init__(self, score: ScoreModel, encoder: LatentEncoder | None, config: DockingConfig):
        super().__init__()
        self.score, self.encoder, self.config = score, encoder, config

    def latents(self, batch: HeteroData, tau: float, generator: torch.Generator | None = None) -> Tensor | None:
        """Straight-through Gumbel-softmax latents of the encoder on the crystal complexes (None without latents)."""
        if self.encoder is None:
            return None
        logits, segment = self.encoder(batch)
        return segment_gumbel_softmax_st(logits, segment, count_graphs(batch), tau, generator)

    def forward(self, batch: HeteroData) -> tuple[Tensor, dict[str, Tensor]]:
        draws = [self.draw(batch) for _ in range(self.config.training.noise_draws)]
        parts = {name: torch.stack([part[name] for _, part in draws]).mean() for name in draws[0][1]}
        return torch.stack([loss for loss, _ in draws]).mean(), parts

    def draw(self, batch: HeteroData) -> tuple[Tensor, dict[str, Tensor]]:
        """The loss and its parts for one noisy pose (and latent draw) per complex."""
        training = self.config.training
        latents = self.latents(batch, training.gumbel_tau)
        dropped = None if latents is None else torch.rand(count_graphs(batch), device=latents.device) < training.latent_dropout
        noised_batch, noised = noise_batch(batch, self.config.pose_schedules)
        scores = self.score(noised_batch, noised.sigma_tr, noised.sigma_rot, noised.sigma_tor, latents, dropped)
        return score_matching_loss(*scores, noised, training.loss_weights)


class PriorObjective(nn.Module):
    """Stage 2: the cross-entropy of the pointer prior, shown the complex without its pose,
    against the (fixed) encoder's soft latents of the crystal complex."""

    def __init__(self, prior: PointerPrior, encoder: LatentEncoder):
        super().__init__()
        self.prior, self.encoder = prior, encoder.requires_grad_(False)

    def train(self, mode: bool = True) -> PriorObjective:
        """Training mode for the prior; the encoder stays in eval mode."""
        super().train(mode)
        self.encoder.eval()
        return self

    def targets(self, batch: HeteroData) -> Tensor:
        """(N_lig + N_rec, m) the encoder's per-complex node probabilities of each latent."""
        with torch.no_grad():
            logits, segment = self.encoder(batch)
            return segment_softmax(logits, segment, count_graphs(batch))

    def nll(self, batch: HeteroData, generator: torch.Generator | None = None) -> Tensor:
        """Mean over complexes of the prior's cross-entropy to the targets (nats)."""
        return self.prior.loss(placed_at_centre(batch, generator), self.targets(batch))

    def forward(self, batch: HeteroData) -> tuple[Tensor, dict[str, Tensor]]:
        loss = self.nll(batch)
        return loss, {"nll": loss}


class ConfidenceObjective(nn.Module):
    """Stage 3: binary cross-entropy of the confidence model on docked poses (label `success`);
    with `pool_loss` > 0 each batch is one complex's pool, and `pool_loss` weighs the listwise
    term: -log of the softmax probability, over the pool, of its successes, the pool ranked by
    `ranking` (the logit minus `vina_weight` x Vina's score)."""

    def __init__(self, confidence: ConfidenceModel, pool_loss: float = 0.0, vina_weight: float = 0.0):
        super().__init__()
        self.confidence, self.pool_loss, self.vina_weight = confidence, pool_loss, vina_weight

    def ranking(self, batch: HeteroData, logits: Tensor) -> Tensor:
        """(G,) the values a pool is ranked by, highest first."""
        return logits - self.vina_weight * batch.vina_score if self.vina_weight else logits

    def forward(self, batch: HeteroData) -> tuple[Tensor, dict[str, Tensor]]:
        logits = self.confidence(batch)
        bce = nn.functional.binary_cross_entropy_with_logits(logits, batch.success.to(logits.dtype))
        if not self.pool_loss:
            return bce, {"bce": bce}
        ranking, success = self.ranking(batch, logits), batch.success.bool()
        listwise = torch.logsumexp(ranking, 0) - torch.logsumexp(ranking[success], 0) if success.any() else ranking.new_zeros(())
        return bce + self.pool_loss * listwise, {"bce": bce, "listwise": listwise}
