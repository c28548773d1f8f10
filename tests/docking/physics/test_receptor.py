"""Receptor preparation on the four posebusters complexes."""

from __future__ import annotations

import pytest

from disco_dock.docking.physics import PhysicsError, receptor_pdbqt
from disco_dock.docking.physics.receptor import VINA_TYPES
from tests.support.complexes import COMPLEXES, protein_path
from tests.support.poses import assert_one_line


@pytest.mark.parametrize("name", COMPLEXES)
def test_receptor_of_every_posebusters_complex(name: str) -> None:
    receptor = receptor_pdbqt(protein_path(name))
    atoms = [line for line in receptor.text.splitlines() if line.startswith(("ATOM", "HETATM"))]
    types = {line[77:].strip() for line in atoms}
    assert len(atoms) > 500
    assert types <= VINA_TYPES and {"C", "N", "OA", "HD"} <= types  # polar hydrogens typed as donors
    assert not any(line[17:20] == "HOH" for line in atoms)
    assert receptor.dropped_atoms == {}


def test_missing_protein_file(tmp_path) -> None:
    with pytest.raises(PhysicsError) as error:
        receptor_pdbqt(tmp_path / "absent.pdb")
    assert_one_line(error, "absent.pdb", "cannot read")


def test_empty_protein_file(tmp_path) -> None:
    empty = tmp_path / "empty.pdb"
    empty.write_text("")
    with pytest.raises(PhysicsError) as error:
        receptor_pdbqt(empty)
    assert_one_line(error, "Open Babel cannot read")
