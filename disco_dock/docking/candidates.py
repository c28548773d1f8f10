"""The physics stage of one complex: the candidate pool after sampling, and its ranking.

`physics_stage` takes the diffusion model's poses and, as `PhysicsConfig` asks, adds Vina's
search poses (pocket mode), refines every diffusion pose with Vina's local optimisation (Vina's
own poses come out of its search already optimised), scores all with Vina and Vina's best with
Vinardo. With
a trained pose ranker, `ranker_confidences` gives every pose its probability of being right;
`ranked` orders the pool (by confidence, by a confidence model's correction to Vina's score
("learned", the shipped pocket model's default), the Vina + Vinardo consensus, Vina score or sample
order) and numbers the ranks; `validity_checked` then runs PoseBusters' checks on the ranked
poses and, with `PhysicsConfig.invalid_last`, moves those that fail after the others.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from rdkit import Chem
from scipy.spatial import cKDTree

from disco_dock.docking.config import PhysicsConfig
from disco_dock.docking.physics import VinaPocket, check_poses, receptor_pdbqt
from disco_dock.docking.physics.ligand import with_hydrogens
from disco_dock.docking.physics.pocket import VINARDO
from disco_dock.docking.physics.refinement import rescored, shared_boxes, vina_poses
from disco_dock.docking.pocket import BOX_PADDING, Box, Pocket
from disco_dock.docking.ranking.features import pool_features
from disco_dock.docking.ranking.model import PoseRanker
from disco_dock.docking.results import VINA, DockedPose



def search_box(pocket: Pocket, ligand: Chem.Mol) -> Box:
    """Where Vina searches: the pocket's own box, else a cube at its centre whose edge is the
    ligand's largest extent plus `BOX_PADDING` (any orientation of the ligand fits)."""
    if pocket.box is not None:
        return pocket.box
    positions = ligand.GetConformer().GetPositions()
    extent = float(np.linalg.norm(positions[:, None] - positions[None], axis=-1).max())
    return Box(pocket.centre, (extent + BOX_PADDING,) * 3)


def physics_stage(
    poses: Sequence[DockedPose], start: Chem.Mol, protein: Path, pocket: Pocket | None, config: PhysicsConfig
) -> list[DockedPose]:
    """The candidate pool: `poses` (the diffusion samples) refined or scored by Vina, Vina's search
    poses from the conformer `start` when asked, and Vinardo's scores of the `config.vinardo_poses`
    with the lowest Vina scores when asked; ranks and validity not yet set. PhysicsError when Vina
    fails; ValueError for a search without a pocket."""
    config = config.for_mode(pocket is not None)
    pool = list(poses)
    if config.uses_vina and (pool or config.vina_search):
        boxes = shared_boxes([pose.mol for pose in pool]) if pool else []
        searched = search_box(pocket, start) if config.vina_search else None
        receptor = receptor_pdbqt(protein, near=[box for box, _ in boxes] + ([searched] if searched else []))
        if searched is not None:
            found = VinaPocket(receptor, searched, cpu=config.vina_cpu, ligand=with_hydrogens(start)).search(
                with_hydrogens(start), config.vina_exhaustiveness, config.vina_poses, energy_range=math.inf
            )
        refined = vina_poses(receptor, [pose.mol for pose in pool], config.refine, config.refine_steps, boxes)
        pool = [
            dataclasses.replace(
                pose, mol=vina.mol, vina_score=vina.score, refinement_shift=vina.shift if config.refine else math.nan
            )
            for pose, vina in zip(pool, refined, strict=True)
        ]
        if config.vina_search:
            pool += [DockedPose(found_pose.mol, 0, math.nan, index, VINA, found_pose.score) for index, found_pose in enumerate(found)]
        if config.vinardo:
            best = sorted(range(len(pool)), key=lambda index: _lowest_first(pool[index].vina_score))[: config.vinardo_poses]
            scores = rescored(protein, [pool[index].mol for index in best], VINARDO)
            for index, score in zip(best, scores, strict=True):
                pool[index] = dataclasses.replace(pool[index], vinardo_score=score)
    return pool


def validity_checked(poses: Sequence[DockedPose], protein: Path, config: PhysicsConfig) -> tuple[DockedPose, ...]:
    """Ranked `poses` (best first) with PoseBusters' verdicts against the PDB file `protein`, and
    with `config.invalid_last` those failing a check moved after the others (flagged poses stay
    last), ranks renumbered. With `config.check_all` every pose is checked. Else, with
    `invalid_last`, the poses are checked in rank order, in chunks of 1, 2, 4, ..., until one
    passes, flagged poses only when every other fails (they rank last whatever their verdict):
    the top pose is then the one that checking every pose would rank first; without
    `invalid_last` only the top pose is checked. Poses left out keep `valid` None.
    PhysicsError when PoseBusters fails."""
    poses = list(poses)
    in_place = sum(not pose.flag for pose in poses) or len(poses)  # `ranked` puts flagged poses last
    end = len(poses) if config.check_all else in_place if config.invalid_last else min(1, len(poses))
    start, size = 0, end if config.check_all else 1
    while start < end:
        chunk = poses[start : min(start + size, end)]
        checks = check_poses([pose.mol for pose in chunk], protein, energy=config.energy_check)
        poses[start : start + len(chunk)] = [
            dataclasses.replace(pose, valid=check.passed, failed_checks=check.failed) for pose, check in zip(chunk, checks, strict=True)
        ]
        if any(check.passed for check in checks):
            break
        start, size = start + len(chunk), 2 * size
    return ranked(poses, "sample", config.invalid_last)


def ranker_confidences(ranker: PoseRanker, pool: Sequence[DockedPose], protein: cKDTree) -> list[DockedPose]:
    """The pool with each pose's confidence set to the ranker's probability that it is within 2 A,
    from its features against the whole pool and the protein's heavy atoms (`protein`, a k-d tree,
    `ranking.features.protein_tree`); needs every Vina score."""
    positions = np.stack([pose.positions for pose in pool])
    scores = np.array([pose.vina_score for pose in pool])
    features = pool_features(positions, scores, protein)
    probabilities = ranker.probabilities(torch.as_tensor(features, dtype=torch.float32)).tolist()
    return [dataclasses.replace(pose, confidence=probability) for pose, probability in zip(pool, probabilities, strict=True)]


def learned_score(confidence: float, vina_score: float, vina_weight: float) -> float:
    """The ranking value (higher first) of a pose by a confidence model trained to correct Vina's
    ranking (`TrainingConfig.confidence_vina_weight` = `vina_weight`): its logit minus
    `vina_weight` x its Vina score; NaN where either is missing."""
    if math.isnan(confidence):
        return math.nan
    logit = math.log(confidence) - math.log1p(-confidence) if 0 < confidence < 1 else math.copysign(math.inf, confidence - 0.5)
    return logit - vina_weight * vina_score


def ranking_key(config: PhysicsConfig, has_confidence: bool, pool: Sequence[DockedPose], vina_weight: float = 0.0) -> str:
    """What `ranked` orders by: `config.rank_by`, with "auto" resolved (see `PhysicsConfig.rank_by`):
    "learned" when the confidence model was trained to correct Vina's ranking (`vina_weight` > 0)
    and every pose has Vina's score, else the consensus when every pose has Vina's score and some
    have Vinardo's, else Vina's score when the pool has one, else the confidence when there is one,
    else sample order."""
    if config.rank_by != "auto":
        return config.rank_by
    every_pose_scored = bool(pool) and all(math.isfinite(pose.vina_score) for pose in pool)
    if every_pose_scored and has_confidence and vina_weight > 0:
        return "learned"
    if every_pose_scored and any(math.isfinite(pose.vinardo_score) for pose in pool):
        return "consensus"
    scored = any(math.isfinite(pose.vina_score) for pose in pool)
    if has_confidence and not scored:
        return "confidence"
    return "vina" if scored else "sample"


def rank_pool(
    pool: Sequence[DockedPose],
    ranker: PoseRanker | None,
    has_confidence: bool,
    protein: cKDTree | None,
    config: PhysicsConfig,
    vina_weight: float = 0.0,
) -> tuple[DockedPose, ...]:
    """The final ranking of a complex's pool, `ranked` by `ranking_key`. A pose ranker's
    confidences replace every pose's confidence when there is a ranker, the protein's heavy atoms
    (a k-d tree) and every pose's Vina score, unless the confidences are those of a confidence
    model trained to correct Vina's ranking (`vina_weight` > 0, `DockingModel.confidence_vina_weight`),
    which rank the pool themselves ("learned")."""
    use_ranker = not vina_weight and ranker is not None and protein is not None and all(math.isfinite(pose.vina_score) for pose in pool)
    if use_ranker:
        pool = ranker_confidences(ranker, pool, protein)
    key = ranking_key(config, has_confidence or use_ranker, pool, vina_weight)
    return ranked(pool, key, config.invalid_last, config.consensus_weight, vina_weight)


def _lowest_first(value: float) -> float:
    """A sort key for a score ranked lowest first: the score, or infinity when it is missing (NaN)."""
    return value if math.isfinite(value) else math.inf


def consensus_score(vina_score: float, vinardo_score: float, weight: float) -> float:
    """The consensus of Vina's and Vinardo's scores (kcal/mol, lower is better; numbers or arrays): Vina + `weight` x Vinardo."""
    return vina_score + weight * vinardo_score


def ranked(
    pool: Sequence[DockedPose],
    by: str,
    invalid_last: bool,
    consensus_weight: float = PhysicsConfig.consensus_weight,
    vina_weight: float = 0.0,
) -> tuple[DockedPose, ...]:
    """The pool best first, with ranks 1, 2, ...: by "confidence" (highest first), "learned"
    (`learned_score` with `vina_weight`, highest first), "consensus" (`consensus_score`, lowest
    first), "vina" (lowest score first) or "sample" (the pool's order);
    flagged poses (`placement`) after all others, and within each group poses failing a validity
    check last when `invalid_last`; a pose without the value ranks after those with one; ties
    keep the pool's order, but for the consensus, where they go by Vina's score (poses Vinardo
    did not score: `PhysicsConfig.vinardo_poses`)."""

    def score(pose: DockedPose) -> tuple[float, float]:
        value = {
            "confidence": -pose.confidence, "vina": pose.vina_score, "sample": 0.0,
            "learned": -learned_score(pose.confidence, pose.vina_score, vina_weight),
            "consensus": consensus_score(pose.vina_score, pose.vinardo_score, consensus_weight),
        }[by]  # fmt: skip
        return _lowest_first(value), _lowest_first(pose.vina_score) if by == "consensus" else 0.0

    order = sorted(pool, key=lambda pose: (bool(pose.flag), invalid_last and pose.valid is False, *score(pose)))
    return tuple(dataclasses.replace(pose, rank=rank) for rank, pose in enumerate(order, start=1))
