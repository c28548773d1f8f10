"""Vina on many poses of one complex at once: each pose refined (or only scored, by Vina or
Vinardo: `rescored`) in as few map computations as the poses' spread allows.

The receptor is prepared and loaded into Vina once, and the maps are for the poses' molecule's
atom types only. Vina's map cost grows with the box's volume, so the poses share one box around
all of them (padding around every atom, hydrogens included) unless the boxes around each pose
add up to less volume (poses spread over a whole protein, as blind docking's may be), in which
case each pose gets its own (the maps recomputed on the same engine, `VinaPocket.move_to`).
The receptor need only reach those boxes (`receptor_pdbqt(protein, near=...)`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from rdkit import Chem

from disco_dock.docking.physics.ligand import heavy_atoms, with_hydrogens
from disco_dock.docking.physics.pocket import BLIND_PADDING, VINA, RefinedPose, VinaPocket
from disco_dock.docking.physics.receptor import ReceptorPDBQT, receptor_pdbqt
from disco_dock.docking.pocket import Box


SCORING_PADDING = 2.0
"""Edge growth of the boxes of poses that are only scored (A): the atoms must lie inside the maps,
and Vina's map time grows with the box's volume (a pose that does not move needs no room)."""


def shared_boxes(poses: Sequence[Chem.Mol], padding: float = BLIND_PADDING) -> list[tuple[Box, list[int]]]:
    """The Vina boxes for `poses` and the poses each holds: one around all of them, or one
    around each pose when those have less volume in all."""
    atoms = [with_hydrogens(pose).GetConformer().GetPositions() for pose in poses]
    together = Box.around(np.concatenate(atoms), padding)
    apart = [Box.around(positions, padding) for positions in atoms]
    if np.prod(together.size) <= sum(np.prod(box.size) for box in apart):
        return [(together, list(range(len(poses))))]
    return [(box, [index]) for index, box in enumerate(apart)]


def vina_poses(
    receptor: ReceptorPDBQT,
    poses: Sequence[Chem.Mol],
    refine: bool = True,
    steps: int = 1000,
    boxes: Sequence[tuple[Box, list[int]]] | None = None,
    scoring: str = VINA,
) -> list[RefinedPose]:
    """Every pose refined by at most `steps` steps of Vina's local optimisation (or, without
    `refine`, only scored, with a shift of 0), in the order given, in `boxes` (default
    `shared_boxes(poses)`; a cropped receptor must cover each), with the scoring function `scoring`."""
    if not poses:
        return []
    results: list[RefinedPose | None] = [None] * len(poses)
    pocket: VinaPocket | None = None
    for box, members in shared_boxes(poses) if boxes is None else boxes:
        if pocket is None:
            pocket = VinaPocket(receptor, box, ligand=poses[0], scoring=scoring)  # one molecule: maps for its atom types
        else:
            pocket.move_to(box)
        for index in members:
            results[index] = pocket.refine(poses[index], steps) if refine else _scored(pocket, poses[index])
    return results


def rescored(protein: str | Path, poses: Sequence[Chem.Mol], scoring: str) -> list[float]:
    """Every pose's score by the scoring function `scoring` as it is (kcal/mol), in `shared_boxes`
    padded by `SCORING_PADDING` on a receptor from the PDB file `protein` cropped for them;
    PhysicsError as `receptor_pdbqt`."""
    if not poses:
        return []
    boxes = shared_boxes(poses, SCORING_PADDING)
    receptor = receptor_pdbqt(protein, near=[box for box, _ in boxes])
    return [pose.score for pose in vina_poses(receptor, poses, refine=False, boxes=boxes, scoring=scoring)]


def _scored(pocket: VinaPocket, pose: Chem.Mol) -> RefinedPose:
    """A pose as it is, with its Vina score."""
    score = pocket.score(pose)
    return RefinedPose(heavy_atoms(pose), score, score, 0.0)

