"""Heavy-atom RMSD of docked poses to a crystal ligand, symmetry-corrected.

RMSD is over heavy atoms, without alignment, of a pose given in the crystal ligand's atom
order. spyrmsd takes the minimum over the graph automorphisms of the crystal ligand (so a
flipped carboxylate or a rotated tert-butyl costs nothing); when spyrmsd fails (not installed,
or an isomorphism search that errors), the plain RMSD in the given order is used and the
result says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rdkit import Chem


@dataclass(frozen=True)
class PoseRMSDs:
    """RMSDs of a set of poses to the crystal ligand."""

    values: list[float]
    symmetry_corrected: bool
    """False when spyrmsd failed and the plain RMSD was used."""
    note: str = ""
    """Why spyrmsd failed, when it did."""


def plain_rmsd(poses: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(K,) RMSD of poses (K, N, 3) to `reference` (N, 3) in the same atom order, no alignment."""
    return np.sqrt(((np.asarray(poses) - reference) ** 2).sum(axis=-1).mean(axis=-1))


def pose_rmsds(reference_mol: Chem.Mol, poses: np.ndarray) -> PoseRMSDs:
    """Symmetry-corrected heavy-atom RMSDs of poses (K, N, 3) to `reference_mol`'s conformer."""
    reference = reference_mol.GetConformer().GetPositions()
    poses = np.asarray(poses, dtype=np.float64).reshape(-1, *reference.shape)
    if len(poses) == 0:
        return PoseRMSDs([], True)
    try:
        from spyrmsd.rmsd import symmrmsd

        elements = np.array([atom.GetAtomicNum() for atom in reference_mol.GetAtoms()])
        adjacency = Chem.GetAdjacencyMatrix(reference_mol)
        values = symmrmsd(reference, list(poses), elements, elements, adjacency, adjacency, center=False, minimize=False)
        return PoseRMSDs([float(v) for v in np.atleast_1d(values)], True)
    except Exception as error:  # spyrmsd missing, or its isomorphism search failing: fall back, flagged
        note = f"spyrmsd failed ({type(error).__name__}: {error}); plain RMSD"
        return PoseRMSDs([float(v) for v in plain_rmsd(poses, reference)], False, note)
