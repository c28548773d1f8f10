"""Physical validity of poses: PoseBusters' "dock" checks against the protein.

The "dock" configuration checks the pose on its own (sanitisation, bond lengths and angles,
planarity, internal clashes and energy; "dock_fast" is the same without the energy) and against the protein (minimum distances and volume
overlaps with the protein, its cofactors and waters, and that the ligand is near the protein);
no crystal pose is needed. A check that could not run (PoseBusters leaves it empty) counts as
failed.

PoseBusters' cost per pose grows with the protein's size (about 0.3 s on a 3,000-atom protein,
4 s on a 21,000-atom one), so each pose is checked against its own crop of the protein file:
the residues with an atom within `CROP_RADIUS` of the pose (`pdb_lines.whole_residues`, before
RDKit reads it). PoseBusters' protein checks only look at atoms within 6 A of the ligand, so the
verdicts stay the same.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem
from scipy.spatial import cKDTree

from disco_dock.docking.physics.errors import PhysicsError
from disco_dock.docking.physics.ligand import checked_pose
from disco_dock.docking.physics.pdb_lines import atom_positions, whole_residues

CROP_RADIUS = 10.0
"""Protein atoms farther than this (A) from every pose atom are left out of the checks."""


@dataclass(frozen=True)
class PoseCheck:
    """PoseBusters' verdict on one pose."""

    passed: bool
    """Whether every check passed."""
    failed: tuple[str, ...]
    """Names of the checks that failed (PoseBusters' column names), in PoseBusters' order."""


def _protein_per_pose(protein: Path, poses: Sequence[Chem.Mol], radius: float | None, load: Callable[[Path], Chem.Mol | None]) -> list[Chem.Mol]:
    """The protein each pose is checked against, read by `load`: the whole file for every pose
    (`radius` None), else for each pose the residues with an atom within `radius` of it, or
    within the nearest atom's distance + 1 A when none is that close (PoseBusters needs a protein)."""
    lines = protein.read_text().splitlines() if radius is not None else []
    try:
        positions = atom_positions(lines) if lines else None
    except ValueError:  # coordinates RDKit reads or refuses as a whole
        positions = None
    if positions is None or len(positions) == 0:
        return [load(protein)] * len(poses)
    proteins = []
    with tempfile.TemporaryDirectory(prefix="disco-dock-checks-") as folder:
        for index, pose in enumerate(poses):
            distances, _ = cKDTree(checked_pose(pose)).query(positions)
            near = distances <= max(radius, float(distances.min()) + 1.0)
            path = Path(folder) / f"protein-{index}.pdb"
            path.write_text("\n".join(whole_residues(lines, near)) + "\n")
            proteins.append(load(path))
    return proteins


def check_poses(
    poses: Sequence[Chem.Mol],
    protein: str | Path,
    crop_radius: float | None = CROP_RADIUS,
    energy: bool = True,
) -> list[PoseCheck]:
    """PoseBusters' "dock" checks of every pose against the protein PDB file, one record per pose;
    without `energy`, its "dock_fast" checks: the same but the internal-energy check, whose
    ensemble of 50 conformers per molecule costs seconds.

    The protein file is read once per call: check the poses of a complex together (or in a
    few chunks, as `candidates.validity_checked` does). `crop_radius`
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
    busters = PoseBusters(config="dock" if energy else "dock_fast")
    try:
        proteins = _protein_per_pose(Path(protein), poses, crop_radius, lambda path: safe_load_mol(path, **busters.config["loading"]["mol_cond"]))
        if any(mol is None for mol in proteins):
            raise PhysicsError(f"{protein}: PoseBusters cannot read the protein")
        table = busters.bust_table(pd.DataFrame({"mol_pred": list(poses), "mol_true": None, "mol_cond": proteins}))
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
