"""The metrics each stage reports on validation complexes after an epoch (on rank 0), with fixed
seeds so that epochs are comparable."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Batch
from torch_geometric.loader import DataLoader

from disco_dock.core.training import progress
from disco_dock.docking.config import DockingConfig, SamplingConfig
from disco_dock.docking.data.dataset import ComplexDataset
from disco_dock.docking.data.graph import LIGAND, RECEPTOR
from disco_dock.docking.sampling import sample_poses
from disco_dock.docking.training.confidence_poses import DockedPoses
from disco_dock.docking.training.objectives import ConfidenceObjective, PriorObjective, ScoreObjective
from disco_dock.docking.training.views import SUCCESS_RMSD, generators, ligand_rmsd, training_view


def _fraction(values: Tensor | list[Tensor]) -> float:
    """The mean of boolean values (a tensor, or a list of one-element tensors); NaN for none."""
    if isinstance(values, list):
        values = torch.stack(values) if values else torch.zeros(0)
    return float(values.float().mean()) if len(values) else float("nan")


@torch.no_grad()
def validate_docking(objective: ScoreObjective, val_set: ComplexDataset, config: DockingConfig, device: torch.device) -> dict[str, float]:
    """Dock up to `validation_complexes` validation complexes, `validation_samples` poses each:
    fraction of top-1 (first) poses under 2 A, their median RMSD, and the fraction of complexes
    with any pose under 2 A; with the encoder's latents of the crystal pose ("oracle-latent")
    and null latents, or for a model without latents ("plain"). Fixed seed: comparable across epochs."""
    training = config.training
    sampling = SamplingConfig(samples=training.validation_samples)
    view_generator, generator = generators(training.seed, device)
    objective.eval()
    rmsds: dict[str, list[Tensor]] = {}
    for index in progress(range(min(training.validation_complexes, len(val_set))), desc="validation"):
        graph = training_view(val_set[index], config, view_generator)
        batch = Batch.from_data_list([graph] * sampling.samples).to(device)
        runs = {"plain": None} if objective.encoder is None else {
            "oracle-latent": objective.latents(batch, training.gumbel_tau, generator),
            "null-latent": None,
        }  # fmt: skip
        for label, latents in runs.items():
            pos = sample_poses(objective.score, batch, config.pose_schedules, sampling, latents, batch.centre, generator)
            rmsds.setdefault(label, []).append(ligand_rmsd(pos, batch).cpu())
    results = {}
    for label, per_complex in rmsds.items():
        table = torch.stack(per_complex)  # (complexes, samples)
        results[f"val_{label}_top1_2A"] = _fraction(table[:, 0] < SUCCESS_RMSD)
        results[f"val_{label}_top1_median_rmsd"] = float(table[:, 0].median())
        results[f"val_{label}_best_2A"] = _fraction((table < SUCCESS_RMSD).any(dim=1))
    return results


@torch.no_grad()
def validate_prior(objective: PriorObjective, val_set: ComplexDataset, config: DockingConfig, device: torch.device) -> dict[str, float]:
    """Mean cross-entropy (nats) of the prior to the encoder's latents on up to
    `validation_complexes` validation complexes, next to its lower bound (the entropy of the
    encoder's latents) and that of a uniform choice of nodes."""
    view_generator, generator = generators(config.training.seed, device)
    objective.eval()
    nll, entropy, uniform = [], [], []
    for index in range(min(config.training.validation_complexes, len(val_set))):
        batch = Batch.from_data_list([training_view(val_set[index], config, view_generator)]).to(device)
        nll.append(float(objective.nll(batch, generator)))
        targets = objective.targets(batch)
        entropy.append(float(-(targets * targets.clamp_min(1e-30).log()).sum()))
        uniform.append(config.model.num_latents * float(np.log(batch[LIGAND].num_nodes + batch[RECEPTOR].num_nodes)))
    return {"val_nll": float(np.mean(nll)), "val_target_entropy": float(np.mean(entropy)), "val_uniform_nll": float(np.mean(uniform))}


@torch.no_grad()
def validate_confidence(objective: ConfidenceObjective, poses: DockedPoses, batch_size: int, device: torch.device) -> dict[str, float]:
    """On validation poses: accuracy of "logit > 0", the fraction of (success, failure) pose pairs
    where the success scores higher (AUROC; ties count half), and the fraction of complexes whose
    most confident pose is a success, next to that of their first pose, of their best pose by
    Vina's score (poses from decoys) and of any pose (the ceiling of a ranking); with the
    objective's `vina_weight`, also by its `ranking`."""
    objective.eval()
    logits, rankings, labels = [], [], []
    for batch in DataLoader(poses, batch_size=batch_size):
        batch = batch.to(device)
        logits.append(objective.confidence(batch))
        if objective.vina_weight:
            rankings.append(objective.ranking(batch, logits[-1]).cpu())
        labels.append(batch.success.cpu())
    logit, label = torch.cat(logits).cpu(), torch.cat(labels).bool()
    positive, negative = logit[label], logit[~label]
    pairs = (positive[:, None] > negative[None, :]).float() + 0.5 * (positive[:, None] == negative[None, :]).float()
    pools = list(zip(logit.split(poses.counts), label.split(poses.counts), poses.records))
    results = {
        "val_accuracy": _fraction((logit > 0) == label),
        "val_auroc": float(pairs.mean()) if pairs.numel() else float("nan"),
        "val_top1_2A": _fraction([success[values.argmax()] for values, success, _ in pools]),
        "val_first_2A": _fraction([success[0] for _, success, _ in pools]),
        "val_best_2A": _fraction([success.any() for _, success, _ in pools]),
    }
    if pools and all("vina_score" in record for *_, record in pools):
        results["val_vina_top1_2A"] = _fraction([success[record["vina_score"].argmin()] for _, success, record in pools])
    if objective.vina_weight:
        ranked = zip(torch.cat(rankings).split(poses.counts), label.split(poses.counts))
        results["val_ranking_top1_2A"] = _fraction([success[values.argmax()] for values, success in ranked])
    return results
