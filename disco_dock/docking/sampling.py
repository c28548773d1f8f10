"""Reverse diffusion of ligand poses with the score model, as DiffDock samples, plus DisCo latents.

The time grid is DiffDock's: `steps` uniform steps from t = 1 down to t = 0, the last one
(from t = 1/steps to 0) without fresh noise. Classifier-free guidance on the latents follows
`disco_dock.core.guidance.guide`, separately for the translation, rotation and torsion scores.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from disco_dock.core.guidance import guide
from disco_dock.docking.config import SamplingConfig
from disco_dock.docking.data.graph import LIGAND, count_graphs
from disco_dock.docking.diffusion.noising import reverse_sde_step
from disco_dock.docking.diffusion.poses import bond_graph_index, initial_pose, move_ligands
from disco_dock.docking.diffusion.preconditioning import ScoreScales
from disco_dock.docking.diffusion.schedule import PoseNoiseSchedules
from disco_dock.docking.model.score import ScoreModel, Scores


def _guided_scores(
    model: ScoreModel, batch: HeteroData, t: float, sigmas: tuple[Tensor, ...], latents: Tensor | None, sampling: SamplingConfig
) -> Scores:
    """The model's scores at time `t`, guided on the latents where `sampling` asks for it."""
    scores = model(batch, *sigmas, latents)
    low, high = sampling.guidance_window
    if latents is None or sampling.guidance == 0 or not low <= t <= high:
        return scores
    unconditional = model(batch, *sigmas, None)
    return Scores(*(guide(conditional, plain, sampling.guidance) for conditional, plain in zip(scores, unconditional)))


def sample_poses(
    model: ScoreModel,
    batch: HeteroData,
    schedules: PoseNoiseSchedules,
    sampling: SamplingConfig,
    latents: Tensor | None = None,
    centre: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Dock every ligand of `batch` (one graph or a batch of many): final positions (N_lig, 3).

    Starts from `initial_pose(batch, schedules, centre, generator)` (the ligand's conformer in
    `batch` with random rotation, torsions and position), then takes `sampling.steps` reverse
    SDE (or, with `sampling.ode`, probability-flow ODE) steps. `latents` (N_lig + N_rec, m)
    condition the model (None = the null embedding); with `sampling.guidance` != 0 they are
    guided within `sampling.guidance_window`. `batch` is left unchanged; the model runs in eval
    mode without gradients and gets its training mode back afterwards.
    """
    was_training = model.training
    model.eval()
    pose = copy.copy(batch)
    pos = batch[LIGAND].pos
    count = count_graphs(batch)
    bond_graph = bond_graph_index(batch)
    dt = 1.0 / sampling.steps
    with torch.no_grad():
        pose[LIGAND].pos = initial_pose(batch, schedules, centre, generator)
        for step in range(sampling.steps):
            t = 1.0 - step * dt
            sigmas = schedules.sigmas(torch.full((count,), t, dtype=pos.dtype, device=pos.device))
            scores = ScoreScales.at(*sigmas, bond_graph).actual(*_guided_scores(model, pose, t, sigmas, latents, sampling))
            last = step == sampling.steps - 1
            update = reverse_sde_step(
                pose, *scores, t, dt, schedules,
                noise_scale=0.0 if last else sampling.noise_scale, ode=sampling.ode, generator=generator,
            )  # fmt: skip
            pose[LIGAND].pos = move_ligands(pose, update)
    model.train(was_training)
    return pose[LIGAND].pos
