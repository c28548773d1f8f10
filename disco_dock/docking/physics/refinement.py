"""Vina on many poses of one complex at once: each pose refined (or only scored) in as few map
computations as the poses' spread allows.

The receptor is prepared and loaded into Vina once, and the maps are for the poses' molecule's
atom types only. Vina's map cost grows with the box's volume, so poses close together share a
box (padding around every atom, hydrogens included) and poses far apart get boxes of their own
(`shared_boxes`; the maps recomputed on the same engine, `VinaPocket.move_to`).
The receptor need only reach those boxes (`receptor_pdbqt(protein, near=...)`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rdkit import Chem

from disco_dock.docking.physics.ligand import heavy_atoms, with_hydrogens
from disco_dock.docking.physics.pocket import BLIND_PADDING, RefinedPose, VinaPocket
from disco_dock.docking.physics.receptor import ReceptorPDBQT
from disco_dock.docking.pocket import Box

def shared_boxes(poses: Sequence[Chem.Mol], padding: float = BLIND_PADDING) -> list[tuple[Box, list[int]]]:
    """The Vina boxes for `poses` and the poses each holds. Each pose starts in its own box (its
    atoms' bounding box, each edge grown by `padding`); then, while some two boxes have a common
    box of no more volume than theirs added up, the two that save the most volume are merged:
    poses close together share maps, and poses far apart do not pay for the space between them."""
    atoms = [with_hydrogens(pose).GetConformer().GetPositions() for pose in poses]
    low = np.array([positions.min(axis=0) for positions in atoms]) - padding / 2
    high = np.array([positions.max(axis=0) for positions in atoms]) + padding / 2
    members = [[index] for index in range(len(poses))]
    while len(members) > 1:
        merged = np.prod(np.maximum(high[:, None], high[None]) - np.minimum(low[:, None], low[None]), axis=-1)
        volume = np.prod(high - low, axis=-1)
        saving = volume[:, None] + volume[None] - merged
        np.fill_diagonal(saving, -np.inf)
        i, j = np.unravel_index(np.argmax(saving), saving.shape)
        if saving[i, j] < 0:
            break
        i, j = min(i, j), max(i, j)
        low[i], high[i] = np.minimum(low[i], low[j]), np.maximum(high[i], high[j])
        low, high = np.delete(low, j, axis=0), np.delete(high, j, axis=0)
        members[i] += members.pop(j)
    centres, sizes = ((low + high) / 2).tolist(), (high - low).tolist()
    return [(Box(tuple(centre), tuple(size)), group) for centre, size, group in zip(centres, sizes, members)]


def vina_poses(
    receptor: ReceptorPDBQT,
    poses: Sequence[Chem.Mol],
    refine: bool = True,
    steps: int = 1000,
    boxes: Sequence[tuple[Box, list[int]]] | None = None,
) -> list[RefinedPose]:
    """Every pose refined by at most `steps` steps of Vina's local optimisation (or, without
    `refine`, only scored, with a shift of 0), in the order given, in `boxes` (default
    `shared_boxes(poses)`; a cropped receptor must cover each)."""
    if not poses:
        return []
    results: list[RefinedPose | None] = [None] * len(poses)
    pocket: VinaPocket | None = None
    for box, members in shared_boxes(poses) if boxes is None else boxes:
        if pocket is None:
            pocket = VinaPocket(receptor, box, ligand=poses[0])  # one molecule: maps for its atom types
        else:
            pocket.move_to(box)
        for index in members:
            results[index] = pocket.refine(poses[index], steps) if refine else _scored(pocket, poses[index])
    return results


def _scored(pocket: VinaPocket, pose: Chem.Mol) -> RefinedPose:
    """A pose as it is, with its Vina score."""
    score = pocket.score(pose)
    return RefinedPose(heavy_atoms(pose), score, score, 0.0)

