"""What the pose ranker sees of a pose: its Vina score, where that score stands in its pool, how
many other poses of the pool agree with it, and how it sits in the protein.

Docking programs find a right pose far more often than they rank one first (Vina: best of 9
under 2 A for 82 % of Astex, top-1 for 55 %). Two signals beside the score are known to help:
*consensus* (independent searches that end at the same pose) and *contacts* (a right pose is
buried in the pocket, without clashes). Every feature is computed from the pool of candidate
poses of one complex, the ligand, and the protein's heavy atoms; none needs the true pose.

The pool that gives the consensus and score ranks is the `context`; the poses described are the
`queries` (the same poses, or e.g. a crystal pose described against the pool without joining it).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

FEATURES = (
    "vina_score", "score_above_best", "score_rank", "score_per_heavy_atom",
    "neighbours_1A", "neighbours_2A", "neighbours_4A", "boltzmann_support_2A",
    "contacts_4A", "buried_fraction", "min_protein_distance", "clashes_2_5A",
    "heavy_atoms", "pool_score_spread",
)  # fmt: skip
"""The feature columns, in order."""
KT = 0.6
"""kcal/mol: the Boltzmann weights of the pool's poses are exp(-(score - best) / KT)."""


def pairwise_rmsd(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(A, B) heavy-atom RMSD between poses (A, N, 3) and (B, N, 3) in the same atom order, no alignment."""
    return np.sqrt(((first[:, None] - second[None]) ** 2).sum(-1).mean(-1))


def pose_features(
    queries: np.ndarray,
    query_scores: np.ndarray,
    context: np.ndarray,
    context_scores: np.ndarray,
    protein: cKDTree,
    same: bool,
) -> np.ndarray:
    """(Q, len(FEATURES)) features of poses `queries` (Q, N, 3) with Vina scores (Q,), against the
    pool `context` (K, N, 3) with scores (K,) and the protein's heavy atoms (a KD-tree). `same`:
    the queries are the context's poses, so each pose is left out of its own consensus."""
    scores = np.asarray(query_scores, dtype=np.float64)
    pool = np.asarray(context_scores, dtype=np.float64)
    best, others = pool.min(), max(len(pool) - (1 if same else 0), 1)
    distances = pairwise_rmsd(queries, context)
    if same:
        np.fill_diagonal(distances, np.inf)
    weights = np.exp(-(pool - best) / KT)
    near = [(distances < cutoff).sum(axis=1) / others for cutoff in (1.0, 2.0, 4.0)]
    support = (weights[None] * (distances < 2.0)).sum(axis=1) / weights.sum()
    atoms = queries.shape[1]
    contact = np.stack([_contacts(pose, protein) for pose in queries])
    return np.column_stack([
        scores, scores - best, (pool[None] < scores[:, None]).sum(axis=1) / len(pool), scores / atoms,
        *near, support,
        contact, np.full(len(scores), atoms, dtype=np.float64), np.full(len(scores), pool.max() - best),
    ])  # fmt: skip


def pool_features(positions: np.ndarray, scores: np.ndarray, protein: cKDTree) -> np.ndarray:
    """(K, len(FEATURES)) features of every pose of a pool (K, N, 3) with Vina scores (K,),
    each against the rest of the pool."""
    return pose_features(positions, scores, positions, scores, protein, same=True)


def _contacts(pose: np.ndarray, protein: cKDTree) -> np.ndarray:
    """Mean protein atoms within 4 A per ligand atom, fraction of ligand atoms with one within
    4.5 A, the closest protein atom (A), and ligand atoms closer than 2.5 A to one."""
    nearest, _ = protein.query(pose, k=1)
    within = protein.query_ball_point(pose, r=4.0, return_length=True)
    return np.array([within.mean(), (nearest < 4.5).mean(), nearest.min(), (nearest < 2.5).sum()], dtype=np.float64)


def protein_tree(heavy_atoms: np.ndarray) -> cKDTree:
    """A KD-tree of the protein's heavy atoms (M, 3), for the contact features."""
    return cKDTree(np.asarray(heavy_atoms, dtype=np.float64))
