"""Physical validity of poses: PoseBusters' "dock" checks against the protein.

The "dock" configuration checks the pose on its own (sanitisation, bond lengths and angles,
planarity, internal clashes and energy) and against the protein (minimum distances and volume
overlaps with the protein, its cofactors and waters, and that the ligand is near the protein);
no crystal pose is needed. A check that could not run (PoseBusters leaves it empty) counts as
failed.

PoseBusters' cost per pose grows with the protein's size (about 0.3 s on a 3,000-atom protein,
4 s on a 21,000-atom one), so the protein is cropped first to the atoms within `CROP_RADIUS` of
any pose: its protein checks only look at atoms within 6 A of the ligand, so the verdicts stay
the same.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rdkit import Chem

from disco_dock.docking.physics.errors import PhysicsError
from disco_dock.docking.physics.ligand import checked_pose

CROP_RADIUS = 10.0
"""Protein atoms farther than this (A) from every pose atom are left out of the checks."""


@dataclass(frozen=True)
class PoseCheck:
    """PoseBusters' verdict on one pose."""

    passed: bool
    """Whether every check passed."""
    failed: tuple[str, ...]
    """Names of the checks that failed (PoseBusters' column names), in PoseBusters' order."""


def _cropped(protein: Chem.Mol, poses: Sequence[Chem.Mol], radius: float) -> Chem.Mol:
    """`protein` without the atoms farther than `radius` from every atom of `poses` (or than the
    nearest atom's distance + 1 A, when no atom is that close: PoseBusters needs a protein)."""
    atoms = protein.GetConformer().GetPositions()
    ligand = np.concatenate([checked_pose(pose) for pose in poses])
    nearest = np.full(len(atoms), np.inf)
    for chunk in np.array_split(np.arange(len(atoms)), max(1, len(atoms) // 4096)):  # bounded memory
        nearest[chunk] = np.linalg.norm(atoms[chunk, None] - ligand[None], axis=-1).min(axis=1)
    cropped = Chem.RWMol(protein)
    cropped.BeginBatchEdit()
    radius = max(radius, float(nearest.min()) + 1.0)  # poses far from the protein keep its nearest atoms
    for index in np.nonzero(nearest > radius)[0].tolist():
        cropped.RemoveAtom(index)
    cropped.CommitBatchEdit()
    return cropped.GetMol()


def check_poses(
    poses: Sequence[Chem.Mol],
    protein: str | Path,
    crop_radius: float | None = CROP_RADIUS,
) -> list[PoseCheck]:
    """PoseBusters' "dock" checks of every pose against the protein PDB file, one record per pose.

    The protein is read once per call: check the poses of a complex together. `crop_radius`
    None checks against the whole protein (slower, same verdicts; see the module docstring).
    """
    from posebusters import PoseBusters
    from posebusters.tools.loading import safe_load_mol

    for pose in poses:
        checked_pose(pose)
    if not Path(protein).is_file():
        raise PhysicsError(f"{protein}: protein file not found")
    if not poses:
        return []
    _usable_rdkit_log_stream()
    busters = PoseBusters(config="dock")
    try:
        protein_mol = safe_load_mol(Path(protein), **busters.config["loading"]["mol_cond"])
        if protein_mol is None:
            raise PhysicsError(f"{protein}: PoseBusters cannot read the protein")
        if crop_radius is not None:
            protein_mol = _cropped(protein_mol, poses, crop_radius)
        table = busters.bust(list(poses), None, protein_mol)
    except PhysicsError:
        raise
    except Exception as error:  # PoseBusters passes on whatever RDKit or its loaders raise
        raise PhysicsError(f"PoseBusters cannot check the poses: {error.__class__.__name__}: {error}") from error
    checks = []
    for _, row in table.iterrows():
        failed = tuple(str(name) for name, value in row.items() if value != True)
        checks.append(PoseCheck(not failed, failed))
    return checks


def _usable_rdkit_log_stream() -> None:
    """Point RDKit's Python log handler at the current stderr without flushing the old stream.

    PoseBusters swaps that handler's stream and, when done, leaves it on whatever `sys.stderr` was
    then; if that stream has since been closed (stderr captured by a caller), PoseBusters' next
    swap would fail flushing it."""
    import rdkit

    handler = getattr(rdkit, "log_handler", None)
    if handler is not None:
        handler.stream = sys.stderr
