"""Conformers, rotatable bonds and conformer matching."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from rdkit import Chem

from disco_dock.docking.data.conformers import generate_conformers, match_conformer, rotatable_bonds
from disco_dock.docking.data.ligand import ligand_from_smiles, read_ligand
from disco_dock.docking.geometry import apply_torsion_changes, kabsch_align, rmsd
from tests.support.complexes import COMPLEXES, ligand_path


@pytest.mark.parametrize(
    ("smiles", "expected"),
    [
        ("CC", []),  # each side a single atom
        ("CC(C)C", []),
        ("C1CCCCC1C", []),  # ring bond, and a terminal methyl
        ("CCCC", [(1, 2, 2)]),  # (bond atoms, number of atoms moved)
        ("c1ccccc1-c1ccccc1", [(5, 6, 6)]),
        ("CCCCC(=O)O", [(1, 2, 2), (2, 3, 3), (3, 4, 3)]),
        ("CC=CC", []),  # a double bond is not rotatable
        ("CC(C)=C(C)CC", [(3, 5, 2)]),
        ("O=C1Nc2ccccc2C1=C1Nc2ccccc2C1=NO", []),  # indirubin oxime (Astex 1Q41): two double bonds
        ("CC#CC", []),
        ("CC(=O)NCC", [(1, 3, 3), (3, 4, 2)]),  # the amide C-N is a single bond
    ],
)
def test_rotatable_bonds(smiles: str, expected: list[tuple[int, int, int]]) -> None:
    mol = ligand_from_smiles(smiles).mol
    bonds, moving = rotatable_bonds(mol)
    assert bonds.shape == (len(expected), 2) and moving.shape == (len(expected), mol.GetNumAtoms())
    found = sorted((*sorted(bond), int(mask.sum())) for bond, mask in zip(bonds.tolist(), moving))
    assert found == sorted(expected)
    for (u, v), mask in zip(bonds.tolist(), moving):
        assert mask[v] and not mask[u]
        assert mask.sum() <= mol.GetNumAtoms() - mask.sum()  # the smaller side moves


def test_generate_conformers_is_seeded() -> None:
    mol = ligand_from_smiles("CC(=O)Nc1ccc(O)cc1").mol
    first, again, other = (generate_conformers(mol, num=2, seed=seed) for seed in (3, 3, 4))
    assert first.method == "etkdg" and first.pos.shape == (2, mol.GetNumAtoms(), 3)
    np.testing.assert_array_equal(first.pos, again.pos)
    assert not np.allclose(first.pos, other.pos)


def test_conformer_fallback_to_input_pose() -> None:
    """ETKDG cannot embed a five-bond carbon (read with partial sanitisation): the input pose is used."""
    mol = Chem.MolFromSmiles("CC(C)(C)(C)C", sanitize=False)
    mol.UpdatePropertyCache(strict=False)
    conformer = Chem.Conformer(mol.GetNumAtoms())
    for i, xyz in enumerate(np.random.default_rng(0).normal(size=(mol.GetNumAtoms(), 3)) * 1.5):
        conformer.SetAtomPosition(i, xyz.tolist())
    mol.AddConformer(conformer)
    result = generate_conformers(mol)
    assert result.method.startswith("input pose (ETKDG failed")
    np.testing.assert_array_equal(result.pos[0], mol.GetConformer().GetPositions())


@pytest.mark.parametrize("name", COMPLEXES)
def test_conformer_matching_lowers_rmsd_and_is_reachable(name: str) -> None:
    ligand = read_ligand(ligand_path(name))
    bonds, moving = rotatable_bonds(ligand.mol)
    conformer = generate_conformers(ligand.mol, seed=0).pos[0]
    crystal = ligand.positions
    result = match_conformer(ligand.mol, conformer, crystal, bonds, moving)
    goal = torch.as_tensor(crystal)
    rigid = float(rmsd(kabsch_align(torch.as_tensor(conformer), goal), goal))
    assert result.rmsd_before == pytest.approx(rigid)
    assert result.rmsd < result.rmsd_before
    assert result.rmsd == pytest.approx(float(rmsd(torch.as_tensor(result.pos), goal)), abs=1e-6)
    # reachable: the recorded torsion changes plus a rigid motion give the matched pose
    moved = apply_torsion_changes(torch.as_tensor(conformer), torch.as_tensor(bonds), torch.as_tensor(moving), torch.as_tensor(result.torsion_changes))
    np.testing.assert_allclose(kabsch_align(moved, goal).numpy(), result.pos, atol=1e-5)
    # the local structure (bond lengths) is the conformer's, not the crystal's
    for bond in ligand.mol.GetBonds():
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        assert np.linalg.norm(result.pos[i] - result.pos[j]) == pytest.approx(np.linalg.norm(conformer[i] - conformer[j]), abs=1e-5)


def test_matching_recovers_a_pure_torsion_change() -> None:
    """A pose made from the conformer by torsion changes and a rigid motion is matched to ~0 RMSD."""
    ligand = read_ligand(ligand_path("1s3v"))
    bonds, moving = rotatable_bonds(ligand.mol)
    conformer = torch.as_tensor(generate_conformers(ligand.mol).pos[0])
    delta = torch.as_tensor(np.random.default_rng(1).uniform(-np.pi, np.pi, len(bonds)))
    target = apply_torsion_changes(conformer, torch.as_tensor(bonds), torch.as_tensor(moving), delta) + torch.tensor([5.0, -3.0, 2.0], dtype=torch.float64)
    result = match_conformer(ligand.mol, conformer.numpy(), target.numpy(), bonds, moving)
    assert result.rmsd_before > 0.5
    assert result.rmsd < 1e-3
