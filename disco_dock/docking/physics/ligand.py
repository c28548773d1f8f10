"""Ligands in and out of Vina: RDKit pose -> ligand PDBQT (meeko) and Vina's PDBQT -> RDKit poses.

* In: a molecule with a 3D conformer, heavy atoms only (as disco-dock's poses are) or with
  hydrogens. Missing hydrogens are added with coordinates (Vina needs the polar ones to type
  donors); meeko then merges the non-polar ones and writes the torsion tree.
* Out: meeko rebuilds a molecule from Vina's PDBQT (`RDKitMolCreate`), in the atom order of
  the SMILES meeko wrote, not the input's; the heavy atoms are put back into the input's order
  by a substructure match on the element-only heavy-atom graph
  (`docking.data.ligand.heavy_positions_in_reference_order`). Poses come back as copies of the
  input's heavy-atom molecule (its bonds, charges and chiral tags) with new coordinates. Where
  the molecule has graph symmetry (a phenyl ring) the match may exchange equivalent atoms: the
  pose is the same, but compare poses with a symmetry-aware RMSD (`rdMolAlign.CalcRMS`).
"""

from __future__ import annotations

import numpy as np
from rdkit import Chem
from rdkit.Geometry import Point3D

from disco_dock.docking.data.ligand import heavy_positions_in_reference_order
from disco_dock.docking.data.errors import DataError
from disco_dock.docking.physics.errors import PhysicsError
from disco_dock.docking.physics.receptor import VINA_TYPES

BOND_TOLERANCE = 0.75
"""How far (A) a pose's bond may differ from its reference conformer's and still count as the same
bond. Vina moves torsions only, so its poses keep the bond lengths of the conformer they started
from, except where it closes a macrocycle's ring that meeko opened (poses with the ring left open
stretch that bond by 1-9 A). Against a crystal pose: RDKit conformers' bonds differ from the
crystal's by up to about 0.35 A, while atoms in another order put a bond between atoms at least
about 2.3 A apart."""
LIGAND_TYPES = VINA_TYPES | frozenset(["G0", "G1", "G2", "G3", "CG0", "CG1", "CG2", "CG3"])
"""Atom types Vina accepts in a ligand: `VINA_TYPES` and meeko's macrocycle closure atoms."""


def checked_pose(mol: Chem.Mol | None) -> np.ndarray:
    """(N, 3) positions of `mol`'s conformer; PhysicsError without one or with non-finite coordinates."""
    if mol is None:
        raise PhysicsError("no molecule (RDKit could not read it)")
    if mol.GetNumConformers() == 0:
        raise PhysicsError("the molecule has no conformer: a 3D pose is needed")
    positions = mol.GetConformer().GetPositions()
    if not np.isfinite(positions).all():
        raise PhysicsError("the molecule's coordinates are not all finite (NaN or inf)")
    return positions


def heavy_atoms(mol: Chem.Mol) -> Chem.Mol:
    """`mol` without hydrogens (heavy atoms keep their relative order), pose included."""
    heavy = Chem.RemoveAllHs(mol, sanitize=False)
    heavy.UpdatePropertyCache(strict=False)
    Chem.FastFindRings(heavy)
    return heavy


def with_hydrogens(mol: Chem.Mol) -> Chem.Mol:
    """`mol` with every hydrogen explicit and placed in 3D (present ones kept, missing ones added after)."""
    checked_pose(mol)
    try:
        return Chem.AddHs(mol, addCoords=True)
    except Exception as error:  # RDKit raises several types for the same kind of problem
        raise PhysicsError(f"RDKit cannot add hydrogens to the molecule: {error}") from error


def ligand_pdbqt(mol: Chem.Mol) -> str:
    """The pose of `mol` as a Vina ligand PDBQT, prepared by meeko; PhysicsError when impossible."""
    from meeko import MoleculePreparation, PDBQTWriterLegacy

    try:
        setups = MoleculePreparation().prepare(with_hydrogens(mol))
        text, ok, error = PDBQTWriterLegacy.write_string(setups[0])
    except PhysicsError:
        raise
    except Exception as error:  # meeko raises whatever its checks and RDKit raise
        raise PhysicsError(f"meeko cannot prepare the ligand: {error.__class__.__name__}: {error}") from error
    if not ok:
        raise PhysicsError(f"meeko cannot write the ligand PDBQT: {error}")
    unknown = sorted({line[77:].strip() for line in text.splitlines() if line.startswith(("ATOM", "HETATM"))} - LIGAND_TYPES)
    if unknown:  # Vina would end the process on them
        raise PhysicsError(f"the ligand has atom types Vina cannot score: {' '.join(unknown)}")
    return text


def molecule_from_pdbqt(pdbqt: str) -> Chem.Mol:
    """meeko's RDKit molecule of a Vina ligand PDBQT: one conformer per pose (MODEL), meeko's atom order."""
    from meeko import PDBQTMolecule, RDKitMolCreate

    try:
        rebuilt = RDKitMolCreate.from_pdbqt_mol(PDBQTMolecule(pdbqt, skip_typing=True))
    except Exception as error:  # meeko's parser and RDKit
        raise PhysicsError(f"meeko cannot read Vina's poses: {error.__class__.__name__}: {error}") from error
    if not rebuilt or rebuilt[0] is None:
        raise PhysicsError("meeko cannot turn Vina's poses back into an RDKit molecule")
    return rebuilt[0]


def poses_from_pdbqt(pdbqt: str, reference: Chem.Mol) -> list[Chem.Mol]:
    """Every pose (MODEL) of a Vina ligand PDBQT as a copy of `reference`'s heavy-atom molecule.

    `reference` is the molecule the PDBQT was prepared from (with or without hydrogens); the
    poses come back heavy atoms only, in its heavy-atom order (see the module docstring).
    """
    heavy = heavy_atoms(reference)
    try:
        positions = heavy_positions_in_reference_order(molecule_from_pdbqt(pdbqt), heavy)
    except DataError as error:
        raise PhysicsError(f"Vina's pose does not match the input molecule: {error.reason}") from error
    return [with_positions(heavy, pose) for pose in positions]


def bonds_kept(poses: np.ndarray, reference: np.ndarray, bonds: np.ndarray, tolerance: float = BOND_TOLERANCE) -> np.ndarray:
    """Per pose of `poses` (P, N, 3), whether every bond (`bonds`, (B, 2) atom indices) keeps the
    length it has in `reference` (N, 3) within `tolerance` (A)."""
    first, second = np.asarray(bonds, dtype=np.int64).reshape(-1, 2).T
    lengths = np.linalg.norm(poses[:, first] - poses[:, second], axis=-1)
    return (np.abs(lengths - np.linalg.norm(reference[first] - reference[second], axis=-1)) <= tolerance).all(axis=1)


def bond_indices(mol: Chem.Mol) -> np.ndarray:
    """The bonds of `mol` as (B, 2) atom indices."""
    return np.array([(bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()) for bond in mol.GetBonds()], dtype=np.int64).reshape(-1, 2)


def with_positions(mol: Chem.Mol, positions: np.ndarray) -> Chem.Mol:
    """A copy of `mol` with one conformer at `positions` (N, 3)."""
    conformer = Chem.Conformer(mol.GetNumAtoms())
    for i, (x, y, z) in enumerate(positions.tolist()):
        conformer.SetAtomPosition(i, Point3D(x, y, z))
    conformer.Set3D(True)
    copy = Chem.Mol(mol)
    copy.RemoveAllConformers()
    copy.AddConformer(conformer, assignId=True)
    return copy
