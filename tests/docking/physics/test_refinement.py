"""Refining many poses of one complex: the boxes they share."""

from __future__ import annotations

import numpy as np

from disco_dock.docking.physics.ligand import with_hydrogens, with_positions
from disco_dock.docking.physics.refinement import shared_boxes
from tests.support.poses import crystal

PADDING = 8.0


def test_poses_close_together_share_a_box_and_poses_far_apart_do_not() -> None:
    ligand = crystal("1ia1")
    shifts = [(0, 0, 0), (1, 0, 0), (0, 1, 0), (40, 0, 0), (41, 0, 0), (0, 80, 0)]
    poses = [with_positions(ligand, ligand.GetConformer().GetPositions() + np.array(shift, dtype=float)) for shift in shifts]
    boxes = shared_boxes(poses, PADDING)
    assert sorted(sorted(members) for _, members in boxes) == [[0, 1, 2], [3, 4], [5]]
    for box, members in boxes:
        for index in members:
            atoms = with_hydrogens(poses[index]).GetConformer().GetPositions()
            assert (np.abs(atoms - box.center) <= np.asarray(box.size) / 2 - PADDING / 2 + 1e-6).all()
    assert sum(np.prod(box.size) for box, _ in boxes) < sum(np.prod(box.size) for box, _ in shared_boxes(poses[:1], PADDING)) * len(poses)


def test_one_pose_gets_its_own_box() -> None:
    [(box, members)] = shared_boxes([crystal("1ia1")], PADDING)
    atoms = with_hydrogens(crystal("1ia1")).GetConformer().GetPositions()
    assert members == [0]
    np.testing.assert_allclose(box.size, atoms.max(axis=0) - atoms.min(axis=0) + PADDING)
