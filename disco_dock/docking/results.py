"""What docking one complex gives: its ranked poses, in memory (`docking.writer` writes them out)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rdkit import Chem

from disco_dock.docking.data.ligand import LIGAND_SUFFIXES
from disco_dock.docking.data.protein import Receptor

DIFFUSION, VINA = "diffusion", "vina"
"""Where a pose came from: the diffusion model's samples, or Vina's search."""
DEFAULT_NAME = "complex"
"""The name of a complex whose protein and ligand are both given in memory, when none is given."""
SMILES_NAME = "ligand"
"""The name of a complex whose ligand is a SMILES string, when none is given."""


def default_name(protein: str | Path | Receptor, ligand: str | Path | Chem.Mol) -> str:
    """A complex's name from its inputs: the ligand file's stem, `SMILES_NAME` for a SMILES
    string, else (an RDKit molecule) the protein file's stem or `DEFAULT_NAME`."""
    if isinstance(ligand, (str, Path)):
        return Path(str(ligand)).stem if Path(str(ligand)).suffix.lower() in LIGAND_SUFFIXES else SMILES_NAME
    return DEFAULT_NAME if isinstance(protein, Receptor) else Path(protein).stem


@dataclass(frozen=True)
class DockedPose:
    """One docked pose: the ligand in it, its rank (1 = best), where it came from and its scores."""

    mol: Chem.Mol
    """The input ligand's heavy atoms, in the input's atom order, with this pose as its one conformer."""
    rank: int
    confidence: float
    """Probability that the pose is within 2 A RMSD of the true one; NaN without a confidence model."""
    sample: int
    """Index of the pose among those of its source (before ranking)."""
    source: str = DIFFUSION
    """DIFFUSION or VINA."""
    vina_score: float = math.nan
    """Vina's score of the pose (kcal/mol; NaN when Vina did not run)."""
    vinardo_score: float = math.nan
    """Vinardo's score of the pose (kcal/mol; NaN when not rescored: `PhysicsConfig.vinardo`, `vinardo_poses`)."""
    refinement_shift: float = math.nan
    """Heavy-atom RMSD between the sampled and the refined pose (A; NaN when not refined)."""
    valid: bool | None = None
    """Whether the pose passes every PoseBusters "dock" check (None when not checked)."""
    failed_checks: tuple[str, ...] = ()
    """The PoseBusters checks it fails."""
    flag: str = ""
    """Why the pose is ranked after the others: out of reach of the protein or outside the given box
    (`docking.placement`); "" when neither."""

    @property
    def positions(self) -> np.ndarray:
        """(N, 3) heavy-atom positions (A)."""
        return self.mol.GetConformer().GetPositions()


@dataclass(frozen=True)
class DockingResult:
    """The docked poses of one complex, best first, with its name, the mode it was docked in, the
    protein file (for a complex file of the top pose) and the seconds each stage took."""

    name: str
    mode: str
    """BLIND or POCKET (`docking.pocket.docking_mode`)."""
    poses: tuple[DockedPose, ...]
    protein: Path | None = None
    """The protein file docked into (None for a receptor given in memory)."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of each stage (s): inputs, sampling, physics, ranking."""

    @property
    def positions(self) -> np.ndarray:
        """(K, N, 3) heavy-atom positions of the K poses, best first."""
        return np.stack([pose.positions for pose in self.poses])

    @property
    def confidences(self) -> np.ndarray:
        """(K,) confidences of the poses, best first (NaN without a confidence model)."""
        return np.array([pose.confidence for pose in self.poses])
