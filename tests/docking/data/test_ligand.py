"""Ligand reading (SDF, MOL2, PDB, SMILES; the sanitisation fallback chain) and features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from disco_dock.docking.data.ligand import (
    ATOM_FEATURES,
    BOND_FEATURES,
    featurize_ligand,
    ligand_from_smiles,
    load_ligand,
    read_ligand,
)
from tests.support.complexes import COMPLEXES, ligand_path

COLUMN = {name: i for i, (name, _) in enumerate(ATOM_FEATURES)}


def embedded(smiles: str, hydrogens: bool = False) -> Chem.Mol:
    """A 3D molecule (seeded ETKDG)."""
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    AllChem.EmbedMolecule(mol, randomSeed=0)
    return mol if hydrogens else Chem.RemoveHs(mol)


def mol2_text(mol: Chem.Mol) -> str:
    """A minimal Tripos MOL2 (with its hydrogens, as RDKit's MOL2 reader wants) of a molecule of C, O and H."""
    mol = Chem.AddHs(mol, addCoords=True)
    atoms = []
    for atom, (x, y, z) in zip(mol.GetAtoms(), mol.GetConformer().GetPositions()):
        double = any(bond.GetBondType() == Chem.BondType.DOUBLE for bond in atom.GetBonds())
        kind = {"C": "C.2" if double else "C.3", "O": "O.2" if double else "O.3", "H": "H"}[atom.GetSymbol()]
        atoms.append(f"{atom.GetIdx() + 1:>7} {atom.GetSymbol()}{atom.GetIdx() + 1:<6}{x:>10.4f}{y:>10.4f}{z:>10.4f} {kind:<6} 1 LIG 0.0000")
    bonds = [f"{i + 1:>6}{b.GetBeginAtomIdx() + 1:>6}{b.GetEndAtomIdx() + 1:>6} {int(b.GetBondTypeAsDouble())}" for i, b in enumerate(mol.GetBonds())]
    return "\n".join(["@<TRIPOS>MOLECULE", "LIG", f"{mol.GetNumAtoms()} {mol.GetNumBonds()} 1 0 0", "SMALL", "NO_CHARGES", "", "@<TRIPOS>ATOM", *atoms, "@<TRIPOS>BOND", *bonds, ""])


def hypervalent_sdf(mol: Chem.Mol, carbon: int, partner: int) -> str:
    """`mol`'s molblock with an extra bond carbon-partner (RDKit refuses to sanitise a five-bond
    carbon, as with some PDBbind SDFs)."""
    block = Chem.MolToMolBlock(mol).splitlines()
    atoms, bonds = int(block[3][:3]), int(block[3][3:6])
    block[3] = f"{atoms:>3}{bonds + 1:>3}" + block[3][6:]
    block.insert(4 + atoms + bonds, f"{carbon + 1:>3}{partner + 1:>3}  1  0")
    return "\n".join(block) + "\n$$$$\n"


@pytest.mark.parametrize("name", COMPLEXES)
def test_real_ligands_read_from_sdf(name: str) -> None:
    ligand = read_ligand(ligand_path(name))
    reference = Chem.MolFromMolFile(str(ligand_path(name)))
    assert ligand.route == "sdf"
    assert ligand.has_pose and ligand.mol.GetNumAtoms() == reference.GetNumAtoms()
    assert all(atom.GetAtomicNum() > 1 for atom in ligand.mol.GetAtoms())
    np.testing.assert_allclose(ligand.positions, reference.GetConformer().GetPositions())
    features = featurize_ligand(ligand.mol)
    assert features.atom_features.shape == (reference.GetNumAtoms(), len(ATOM_FEATURES))
    assert features.bond_index.shape == (2, 2 * reference.GetNumBonds())
    for column, (_, size) in enumerate(ATOM_FEATURES):
        assert 0 <= features.atom_features[:, column].min() and features.atom_features[:, column].max() < size


def test_atom_features_on_known_molecules() -> None:
    # L-alanine zwitterion: C0 methyl, C1 chiral CA, N2 ammonium, C3 carboxylate C, O4 =O, O5 -O(-)
    alanine = featurize_ligand(ligand_from_smiles("C[C@@H]([NH3+])C(=O)[O-]").mol).atom_features
    expected = {
        # element, degree, charge+2, aromatic, hybridisation, rings, chirality, Hs
        0: (0, 1, 2, 0, 3, 0, 0, 3),
        1: (0, 3, 2, 0, 3, 0, 1, 1),  # @@ = clockwise
        2: (1, 1, 3, 0, 3, 0, 0, 3),
        3: (0, 3, 2, 0, 2, 0, 0, 0),
        4: (2, 1, 2, 0, 2, 0, 0, 0),
        5: (2, 1, 1, 0, 2, 0, 0, 0),
    }
    for atom, row in expected.items():
        assert tuple(alanine[atom]) == row, atom
    # quinoline-like fused aromatic ring with Br and a ring N: ring counts, aromaticity, elements
    mol = ligand_from_smiles("Brc1ccc2ncccc2c1").mol
    features = featurize_ligand(mol).atom_features
    fused = [a.GetIdx() for a in mol.GetAtoms() if a.GetDegree() == 3 and a.IsInRing() and a.GetAtomicNum() == 6 and a.GetTotalNumHs() == 0 and a.GetIdx() != 1]
    assert features[0, COLUMN["element"]] == 7  # Br
    assert features[0, COLUMN["ring_count"]] == 0 and features[0, COLUMN["aromatic"]] == 0
    assert (features[1:, COLUMN["aromatic"]] == 1).all()
    assert sorted(features[fused, COLUMN["ring_count"]].tolist()) == [2, 2]
    assert features[[a.GetIdx() for a in mol.GetAtoms() if a.GetSymbol() == "N"], COLUMN["element"]].tolist() == [1]
    # an element outside the list (iron) is "other"
    assert featurize_ligand(ligand_from_smiles("[Fe+2]").mol).atom_features[0, COLUMN["element"]] == 12


def test_bond_features() -> None:
    mol = ligand_from_smiles("c1ccccc1C(=O)C#N").mol
    features = featurize_ligand(mol)
    kinds = {}
    for (i, j), row in zip(features.bond_index.T.tolist(), features.bond_features.tolist()):
        kinds[(i, j)] = row
        assert mol.GetBondBetweenAtoms(i, j) is not None
    assert kinds[(0, 1)] == [3, 1, 1] and kinds[(1, 0)] == [3, 1, 1]  # aromatic, conjugated, ring
    assert kinds[(6, 7)] == [1, 1, 0]  # C=O
    assert kinds[(8, 9)] == [2, 1, 0]  # C#N
    assert features.bond_features.shape == (2 * mol.GetNumBonds(), len(BOND_FEATURES))


def test_hydrogens_removed_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "ethanol.sdf"
    Chem.MolToMolFile(embedded("CCO", hydrogens=True), str(path))
    ligand = read_ligand(path)
    assert ligand.mol.GetNumAtoms() == 3
    assert featurize_ligand(ligand.mol).atom_features[:, COLUMN["num_hs"]].tolist() == [3, 2, 1]


def test_mol2_and_pdb_ligands(tmp_path: Path) -> None:
    mol = embedded("CC(=O)OCC")
    (tmp_path / "ester.mol2").write_text(mol2_text(mol))
    Chem.MolToPDBFile(mol, str(tmp_path / "ester.pdb"))
    for suffix in ("mol2", "pdb"):
        ligand = read_ligand(tmp_path / f"ester.{suffix}")
        assert ligand.route in (suffix, f"{suffix} (partial sanitisation)")
        assert ligand.mol.GetNumAtoms() == mol.GetNumAtoms()
        np.testing.assert_allclose(ligand.positions, mol.GetConformer().GetPositions(), atol=1e-3)
    assert Chem.MolToSmiles(read_ligand(tmp_path / "ester.mol2").mol) == Chem.MolToSmiles(mol)


def test_fallback_chain(tmp_path: Path) -> None:
    """SDF, then the fallback file (MOL2) of the same ligand, then partial sanitisation."""
    mol = embedded("CC(C)(C)C(=O)OCC")  # atom 1: quaternary carbon
    broken = tmp_path / "broken.sdf"
    broken.write_text(hypervalent_sdf(mol, 1, 7))
    (tmp_path / "good.mol2").write_text(mol2_text(mol))
    ligand = read_ligand(broken, tmp_path / "good.mol2")
    assert ligand.route == "mol2 (fallback)" and ligand.source.endswith("good.mol2")
    assert Chem.MolToSmiles(ligand.mol) == Chem.MolToSmiles(mol)
    partial = read_ligand(broken)
    assert partial.route == "sdf (partial sanitisation)"
    assert partial.mol.GetNumAtoms() == mol.GetNumAtoms() and partial.has_pose
    assert featurize_ligand(partial.mol).atom_features.shape == (mol.GetNumAtoms(), len(ATOM_FEATURES))
    # a missing fallback does not hide a readable first file
    assert read_ligand(broken, tmp_path / "missing.mol2").route == "sdf (partial sanitisation)"


def test_load_ligand_tells_paths_from_smiles(tmp_path: Path) -> None:
    assert load_ligand("c1ccccc1O").route == "smiles"
    assert not load_ligand("c1ccccc1O").has_pose
    assert load_ligand(str(ligand_path("1uou"))).route == "sdf"


def test_query_fields_of_an_sdf_give_a_plain_molecule(tmp_path):
    """Hydrogen-count and ring-bond fields (as in some PDBbind SDFs) make RDKit read query atoms
    and bonds, which meeko refuses: the ligand read is plain, with the same molecule and pose."""
    from disco_dock.docking.physics.ligand import ligand_pdbqt, with_hydrogens

    lines = ligand_path("1ia1").read_text().splitlines()
    atoms, bonds = int(lines[3][:3]), int(lines[3][3:6])
    for index in range(4, 4 + atoms):
        lines[index] = lines[index][:42] + "  2" + lines[index][45:]  # hhh = 2: the "one hydrogen" query
    for index in range(4 + atoms, 4 + atoms + bonds):
        lines[index] = lines[index][:15] + "  1" + lines[index][18:]  # topology 1: the "in a ring" query
    queried = tmp_path / "queried.sdf"
    queried.write_text("\n".join(lines) + "\n")
    raw = next(iter(Chem.SDMolSupplier(str(queried), sanitize=False, removeHs=False)))
    assert any(atom.HasQuery() for atom in raw.GetAtoms())  # the file does make RDKit read queries
    plain, reference = read_ligand(queried), read_ligand(ligand_path("1ia1"))
    assert not any(atom.HasQuery() for atom in plain.mol.GetAtoms()) and not any(bond.HasQuery() for bond in plain.mol.GetBonds())
    assert Chem.MolToSmiles(plain.mol) == Chem.MolToSmiles(reference.mol)
    np.testing.assert_allclose(plain.positions, reference.positions)
    assert "ROOT" in ligand_pdbqt(with_hydrogens(plain.mol))
