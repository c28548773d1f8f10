"""Pose features of the ranker on the posebusters 1ia1 complex: consensus, score ranks, contacts."""

from __future__ import annotations

import numpy as np
import pytest

from disco_dock.docking.data.ligand import read_ligand
from disco_dock.docking.data.protein import read_heavy_atoms
from disco_dock.docking.ranking.features import FEATURES, pairwise_rmsd, pose_features, protein_tree
from tests.support.complexes import ligand_path, protein_path

NAME = "1ia1"


@pytest.fixture(scope="module")
def crystal() -> np.ndarray:
    return read_ligand(ligand_path(NAME)).positions.astype(np.float64)


@pytest.fixture(scope="module")
def tree():
    return protein_tree(read_heavy_atoms(protein_path(NAME)))


def column(features: np.ndarray, name: str) -> np.ndarray:
    return features[:, FEATURES.index(name)]


def test_pairwise_rmsd_is_the_plain_rmsd(crystal):
    moved = crystal + np.array([3.0, 0.0, 4.0])
    np.testing.assert_allclose(pairwise_rmsd(np.stack([crystal, moved]), np.stack([crystal])), [[0.0], [5.0]])


def test_consensus_counts_the_other_poses_nearby(crystal, tree):
    pool = np.stack([crystal, crystal + 0.5, crystal + 1.5, crystal + 30.0])
    scores = np.array([-9.0, -8.0, -7.0, -1.0])
    features = pose_features(pool, scores, pool, scores, tree, same=True)
    assert features.shape == (4, len(FEATURES))
    # RMSD of a uniform shift s is s * sqrt(3): 0.87, 1.73, 2.60 A apart
    np.testing.assert_allclose(column(features, "neighbours_1A"), [1 / 3, 1 / 3, 0, 0])
    np.testing.assert_allclose(column(features, "neighbours_2A"), [1 / 3, 2 / 3, 1 / 3, 0])
    np.testing.assert_allclose(column(features, "score_above_best"), [0, 1, 2, 8])
    np.testing.assert_allclose(column(features, "score_rank"), [0, 0.25, 0.5, 0.75])


def test_a_pose_outside_the_pool_is_described_against_it(crystal, tree):
    pool, scores = np.stack([crystal + 0.5, crystal + 30.0]), np.array([-8.0, -2.0])
    (features,) = pose_features(crystal[None], np.array([-9.0]), pool, scores, tree, same=False)
    assert features[FEATURES.index("neighbours_2A")] == 0.5
    assert features[FEATURES.index("score_rank")] == 0.0


def test_contacts_tell_a_buried_pose_from_one_in_the_solvent(crystal, tree):
    pool = np.stack([crystal, crystal + 40.0])
    features = pose_features(pool, np.zeros(2), pool, np.zeros(2), tree, same=True)
    buried, away = column(features, "buried_fraction"), column(features, "min_protein_distance")
    assert buried[0] > 0.8 and buried[1] == 0.0
    assert away[0] < 4.0 < away[1]
    assert column(features, "contacts_4A")[0] > 1.0
