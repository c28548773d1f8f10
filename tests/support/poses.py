"""Ligand poses and pose assertions shared by tests: crystal poses of the posebusters complexes,
perturbed and clashing copies, and checks that a pose still shows its molecule."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import rdMolTransforms
from scipy.spatial.transform import Rotation

from disco_dock.docking.physics.ligand import with_positions
from tests.support.complexes import ligand_path, protein_path

_ROTATABLE = Chem.MolFromSmarts("[!D1]-&!@[!D1]")


def crystal(name: str) -> Chem.Mol:
    """The crystal ligand of posebusters complex `name`, heavy atoms only."""
    return Chem.MolFromMolFile(str(ligand_path(name)))


def perturbed(
    mol: Chem.Mol,
    seed: int,
    angle_deg: float = 20.0,
    shift: float = 1.0,
    torsion_deg: float = 40.0,
) -> Chem.Mol:
    """`mol` with every rotatable torsion turned by +-`torsion_deg`, then rotated by `angle_deg`
    about a random axis through its centre and moved by `shift` A in a random direction."""
    rng = np.random.default_rng(seed)
    copy = Chem.Mol(mol)
    conformer = copy.GetConformer()
    for u, v in copy.GetSubstructMatches(_ROTATABLE):
        a = next(n.GetIdx() for n in copy.GetAtomWithIdx(u).GetNeighbors() if n.GetIdx() != v)
        d = next(n.GetIdx() for n in copy.GetAtomWithIdx(v).GetNeighbors() if n.GetIdx() != u)
        angle = rdMolTransforms.GetDihedralDeg(conformer, a, u, v, d) + rng.choice([-1.0, 1.0]) * torsion_deg
        rdMolTransforms.SetDihedralDeg(conformer, a, u, v, d, angle)
    positions = conformer.GetPositions()
    centre = positions.mean(axis=0)
    axis, direction = (vector / np.linalg.norm(vector) for vector in rng.normal(size=(2, 3)))
    rotation = Rotation.from_rotvec(np.deg2rad(angle_deg) * axis).as_matrix()
    return with_positions(copy, (positions - centre) @ rotation.T + centre + shift * direction)


def pushed_into_protein(name: str, distance: float) -> Chem.Mol:
    """The crystal ligand of `name` moved `distance` A towards the centre of the protein atoms within 10 A of it."""
    ligand = crystal(name)
    positions = ligand.GetConformer().GetPositions()
    protein = Chem.MolFromPDBFile(str(protein_path(name)), sanitize=False).GetConformer().GetPositions()
    centre = positions.mean(axis=0)
    direction = protein[np.linalg.norm(protein - centre, axis=1) < 10.0].mean(axis=0) - centre
    return with_positions(ligand, positions + distance * direction / np.linalg.norm(direction))


def bonds_from_3d(mol: Chem.Mol, tolerance: float = 0.45) -> set[frozenset[int]]:
    """Atom pairs closer than the sum of their covalent radii + `tolerance` A: the bond graph the pose shows."""
    table = Chem.GetPeriodicTable()
    radii = np.array([table.GetRcovalent(atom.GetAtomicNum()) for atom in mol.GetAtoms()])
    positions = mol.GetConformer().GetPositions()
    distances = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
    close = distances < radii[:, None] + radii[None] + tolerance
    return {frozenset((i, j)) for i, j in zip(*np.nonzero(np.triu(close, k=1)), strict=True)}


def chiral_centres(mol: Chem.Mol) -> list[tuple[int, str]]:
    """The CIP labels of `mol`'s stereocentres as its 3D pose has them."""
    copy = Chem.Mol(mol)
    Chem.AssignStereochemistryFrom3D(copy)
    return Chem.FindMolChiralCenters(copy, includeUnassigned=True, useLegacyImplementation=False)


def assert_same_molecule(before: Chem.Mol, after: Chem.Mol) -> None:
    """`after`'s pose shows `before`'s molecule: same elements in the same order, its bonds (and
    no others) at covalent distances, the same stereocentres from 3D."""
    assert [a.GetAtomicNum() for a in after.GetAtoms()] == [a.GetAtomicNum() for a in before.GetAtoms()]
    assert bonds_from_3d(after) == {frozenset((b.GetBeginAtomIdx(), b.GetEndAtomIdx())) for b in before.GetBonds()}
    assert chiral_centres(after) == chiral_centres(before)


def assert_one_line(error: pytest.ExceptionInfo, *words: str) -> None:
    """The error's message is one line and contains every one of `words`."""
    message = str(error.value)
    assert message and "\n" not in message
    for word in words:
        assert word in message, message
