"""Ligands into Vina's PDBQT and back, in the input's heavy-atom order; bad molecules."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem

from disco_dock.docking.physics import PhysicsError, ligand_pdbqt, poses_from_pdbqt
from disco_dock.docking.physics.ligand import with_positions
from tests.support.complexes import COMPLEXES
from tests.support.poses import assert_one_line, crystal


@pytest.mark.parametrize("name", COMPLEXES)
@pytest.mark.parametrize("hydrogens", [False, True])
def test_round_trip_keeps_the_pose_in_input_order(name: str, hydrogens: bool) -> None:
    heavy = crystal(name)
    mol = Chem.AddHs(heavy, addCoords=True) if hydrogens else heavy
    pdbqt = ligand_pdbqt(mol)
    assert " HD" in pdbqt  # polar hydrogens were added (every ligand here has N-H or O-H)
    (pose,) = poses_from_pdbqt(pdbqt, mol)
    assert [a.GetSymbol() for a in pose.GetAtoms()] == [a.GetSymbol() for a in heavy.GetAtoms()]
    assert Chem.rdMolAlign.CalcRMS(pose, heavy) < 0.01  # PDBQT keeps 3 decimals


@pytest.mark.parametrize(
    ("mol", "words"),
    [
        (None, ("no molecule",)),
        (Chem.MolFromSmiles("c1ccccc1O"), ("no conformer",)),
        (
            with_positions(Chem.MolFromSmiles("CCO"), np.full((3, 3), np.nan)),
            ("not all finite",),
        ),
    ],
    ids=["none", "no-conformer", "nan"],
)
def test_bad_molecules_give_one_line(mol: Chem.Mol | None, words: tuple[str, ...]) -> None:
    with pytest.raises(PhysicsError) as error:
        ligand_pdbqt(mol)
    assert_one_line(error, *words)
