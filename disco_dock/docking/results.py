"""What docking one complex gives: its ranked poses, in memory (`docking.writer` writes them out)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rdkit import Chem


@dataclass(frozen=True)
class DockedPose:
    """One docked pose: the ligand in it, its rank (1 = best), its confidence and which sample it was."""

    mol: Chem.Mol
    """The input ligand's heavy atoms, in the input's atom order, with this pose as its one conformer."""
    rank: int
    confidence: float
    """Probability that the pose is within 2 A RMSD of the true one; NaN without a confidence model."""
    sample: int
    """Index of the pose among the samples drawn (before ranking)."""

    @property
    def positions(self) -> np.ndarray:
        """(N, 3) heavy-atom positions (A)."""
        return self.mol.GetConformer().GetPositions()


@dataclass(frozen=True)
class DockingResult:
    """The docked poses of one complex, best first, with its name and the mode it was docked in."""

    name: str
    mode: str
    """BLIND or POCKET (`docking.pocket.docking_mode`)."""
    poses: tuple[DockedPose, ...]

    @property
    def positions(self) -> np.ndarray:
        """(K, N, 3) heavy-atom positions of the K poses, best first."""
        return np.stack([pose.positions for pose in self.poses])

    @property
    def confidences(self) -> np.ndarray:
        """(K,) confidences of the poses, best first (NaN without a confidence model)."""
        return np.array([pose.confidence for pose in self.poses])
