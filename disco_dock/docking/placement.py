"""Where a docked pose lies: a pose out of reach of the protein, or outside the given search box,
is flagged (`DockedPose.flag`) and ranked after every other pose (`candidates.ranked`).

A pose is out of reach when none of its heavy atoms comes within `PhysicsConfig.contact_distance`
of a receptor heavy atom (a docked ligand touches its protein: contacts are at 3-4.5 A); it is
outside the box when its heavy-atom centroid is (Vina's own poses never are).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from scipy.spatial import cKDTree

from disco_dock.docking.pocket import Box
from disco_dock.docking.results import DockedPose

NO_CONTACT, OUTSIDE_BOX = "no contact with the protein", "outside the box"
"""The values of `DockedPose.flag` (joined by "; " when both hold)."""


def placement_flag(positions: np.ndarray, protein: cKDTree, box: Box | None, contact_distance: float) -> str:
    """The flag of a pose with heavy-atom `positions` (N, 3) against the protein's heavy atoms
    (`protein`, a k-d tree) and the search `box` (None: no box given); "" when nothing is wrong."""
    nearest, _ = protein.query(positions, distance_upper_bound=contact_distance)
    flags = [NO_CONTACT] if np.isinf(nearest).all() else []
    if box is not None and not box.contains(positions.mean(axis=0)):
        flags.append(OUTSIDE_BOX)
    return "; ".join(flags)


def flag_placements(poses: Sequence[DockedPose], protein: cKDTree, box: Box | None, contact_distance: float) -> list[DockedPose]:
    """`poses` with their `flag` set (see `placement_flag`) against the protein's atoms (a k-d tree)."""
    return [dataclasses.replace(pose, flag=placement_flag(pose.positions, protein, box, contact_distance)) for pose in poses]
