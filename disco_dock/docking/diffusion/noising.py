"""DiffDock-style forward noising of ligand poses, the score-matching loss and the reverse SDE step.

A pose is perturbed, per complex, by a translation ~ N(0, sigma_tr^2 I), a rotation about the
ligand centroid ~ IGSO3(sigma_rot) and a change of each rotatable bond's torsion ~ wrapped
normal(sigma_tor), with one diffusion time t per complex shared by the three components
(sigma(t) from `PoseNoiseSchedules`). The score model predicts unit-normalised scores
(`preconditioning.ScoreScales`): the loss compares them with the normalised kernel scores, and
the reverse SDE step takes actual scores. Works on one `HeteroData` graph or a batch from
torch-geometric's `DataLoader`; graphs without rotatable bonds are fine.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from disco_dock.docking.data.graph import LIGAND, count_graphs
from disco_dock.docking.diffusion.preconditioning import ScoreScales
from disco_dock.docking.diffusion.poses import PoseUpdate, bond_graph_index, graph_means, move_ligands
from disco_dock.docking.diffusion.schedule import PoseNoiseSchedules
from disco_dock.docking.diffusion.so3 import igso3_score, sample_igso3
from disco_dock.docking.diffusion.torus import sample_wrapped_normal, wrapped_normal_score


@dataclass(frozen=True)
class NoisedPose:
    """The noise drawn for a batch and its score-matching targets.

    Per graph (G,): time `t` and noise levels `sigma_tr` (A), `sigma_rot`, `sigma_tor` (rad);
    `bond_graph` (R,) the graph of each rotatable bond; `perturbation` the pose change applied to
    the clean pose; `tr_score`, `rot_score` (G, 3) and `tor_score` (R,) the scores of the
    perturbation kernels at the noised pose (translation: -translation / sigma_tr^2; rotation:
    IGSO3 score of the rotation vector; torsion: wrapped-normal score of the change).
    """

    t: Tensor
    sigma_tr: Tensor
    sigma_rot: Tensor
    sigma_tor: Tensor
    bond_graph: Tensor
    perturbation: PoseUpdate
    tr_score: Tensor
    rot_score: Tensor
    tor_score: Tensor

    def normalised_targets(self) -> tuple[Tensor, Tensor, Tensor]:
        """The unit-normalised targets the model should predict (`ScoreScales.normalised`)."""
        scales = ScoreScales.at(self.sigma_tr, self.sigma_rot, self.sigma_tor, self.bond_graph)
        return scales.normalised(self.tr_score, self.rot_score, self.tor_score)


def sample_times(
    num_graphs: int,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """(G,) diffusion times uniform in (0, 1], one per graph, shared by translation, rotation and torsions."""
    return 1 - torch.rand(num_graphs, generator=generator, dtype=dtype, device=device)


def sample_pose_noise(
    t: Tensor, schedules: PoseNoiseSchedules, bond_graph: Tensor, generator: torch.Generator | None = None
) -> NoisedPose:
    """Draw the perturbation at per-graph times `t` (G,) for rotatable bonds of graphs
    `bond_graph` (R,), and its scores; nothing is moved (see `noise_batch`)."""
    sigma_tr, sigma_rot, sigma_tor = schedules.sigmas(t)
    translation = sigma_tr[:, None] * torch.randn(len(t), 3, generator=generator, dtype=t.dtype, device=t.device)
    rotvec = sample_igso3(sigma_rot, generator)
    bond_sigma = sigma_tor[bond_graph]
    torsion = sample_wrapped_normal(bond_sigma, generator)
    return NoisedPose(
        t=t,
        sigma_tr=sigma_tr,
        sigma_rot=sigma_rot,
        sigma_tor=sigma_tor,
        bond_graph=bond_graph,
        perturbation=PoseUpdate(translation, rotvec, torsion),
        tr_score=-translation / sigma_tr[:, None] ** 2,
        rot_score=igso3_score(rotvec, sigma_rot),
        tor_score=wrapped_normal_score(torsion, bond_sigma),
    )


def noise_batch(
    batch: HeteroData,
    schedules: PoseNoiseSchedules = PoseNoiseSchedules(),
    t: Tensor | float | None = None,
    generator: torch.Generator | None = None,
) -> tuple[HeteroData, NoisedPose]:
    """Noise each graph's clean ligand pose `batch['ligand'].pos` at time `t` (float or (G,);
    default `sample_times`). Returns a shallow copy of `batch` holding the noised positions (the
    input is left unchanged) and the `NoisedPose` with the loss targets."""
    pos = batch[LIGAND].pos
    count = count_graphs(batch)
    if t is None:
        t = sample_times(count, generator, pos.dtype, pos.device)
    t = torch.as_tensor(t, dtype=pos.dtype, device=pos.device).expand(count)
    noised = sample_pose_noise(t, schedules, bond_graph_index(batch), generator)
    out = copy.copy(batch)
    out[LIGAND].pos = move_ligands(batch, noised.perturbation)
    return out, noised


def score_matching_loss(
    pred_tr: Tensor,
    pred_rot: Tensor,
    pred_tor: Tensor,
    noised: NoisedPose,
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> tuple[Tensor, dict[str, Tensor]]:
    """DiffDock's normalised denoising score-matching loss of unit-normalised predictions.

    Squared errors against `noised.normalised_targets()`, averaged over the three vector
    components per graph, then over the graphs; torsion errors are averaged over each graph's
    bonds, then over the graphs that have bonds (0 if none has). Returns the `weights`-weighted
    total and the parts {"translation", "rotation", "torsion"} (scalar tensors).
    """
    target_tr, target_rot, target_tor = noised.normalised_targets()
    count = len(noised.t)
    per_bond = (pred_tor - target_tor) ** 2
    has_bonds = torch.bincount(noised.bond_graph, minlength=count) > 0
    per_graph_tor = graph_means(per_bond, noised.bond_graph, count)
    parts = {
        "translation": ((pred_tr - target_tr) ** 2).mean(),
        "rotation": ((pred_rot - target_rot) ** 2).mean(),
        "torsion": per_graph_tor[has_bonds].sum() / has_bonds.sum().clamp_min(1),
    }
    total = sum(weight * part for weight, part in zip(weights, parts.values()))
    return total, parts


def reverse_sde_step(
    batch: HeteroData,
    tr_score: Tensor,
    rot_score: Tensor,
    tor_score: Tensor,
    t: Tensor | float,
    dt: Tensor | float,
    schedules: PoseNoiseSchedules = PoseNoiseSchedules(),
    noise_scale: float = 1.0,
    ode: bool = False,
    generator: torch.Generator | None = None,
) -> PoseUpdate:
    """The pose update of one reverse-diffusion step from time `t` to `t - dt` (floats or (G,)).

    With the actual scores s of the current pose of `batch` (`ScoreScales.actual` of the model's
    output), (G, 3), (G, 3), (R,), and g^2 = `g_squared(t)` of each component: g^2 s dt + noise_scale g sqrt(dt) z
    (z standard normal) for the reverse SDE, or the probability-flow ODE's 0.5 g^2 s dt with `ode`.
    Apply it with `move_ligands`.
    """
    pos = batch[LIGAND].pos
    count = count_graphs(batch)
    t = torch.as_tensor(t, dtype=pos.dtype, device=pos.device).expand(count)
    dt = torch.as_tensor(dt, dtype=pos.dtype, device=pos.device).expand(count)
    bond_graph = bond_graph_index(batch)
    options = {"noise_scale": noise_scale, "ode": ode, "generator": generator}
    return PoseUpdate(
        _reverse_increment(tr_score, schedules.translation.g_squared(t)[:, None], dt[:, None], **options),
        _reverse_increment(rot_score, schedules.rotation.g_squared(t)[:, None], dt[:, None], **options),
        _reverse_increment(tor_score, schedules.torsion.g_squared(t)[bond_graph], dt[bond_graph], **options),
    )


def _reverse_increment(
    score: Tensor, g_squared: Tensor, dt: Tensor, noise_scale: float, ode: bool, generator: torch.Generator | None
) -> Tensor:
    """One component's reverse step (see `reverse_sde_step`); `g_squared`, `dt` broadcast with `score`."""
    if ode:
        return 0.5 * g_squared * score * dt
    noise = torch.randn(score.shape, generator=generator, dtype=score.dtype, device=score.device)
    return g_squared * score * dt + noise_scale * (g_squared * dt).sqrt() * noise
