"""Receptor parsing: real posebusters proteins, mmCIF, and the PDB corner cases."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from disco_dock.docking.data.errors import DataWarning
from disco_dock.docking.data.protein import OTHER_RESIDUE, RESIDUE_TYPES, read_protein
from tests.support.complexes import COMPLEXES, protein_path


def atom_line(
    name: str, resname: str, number: int, xyz: tuple[float, float, float], *, chain: str = "A", record: str = "ATOM",
    altloc: str = " ", icode: str = " ", occupancy: float = 1.0, element: str | None = None, serial: int = 1,
) -> str:  # fmt: skip
    """One fixed-column PDB ATOM/HETATM record."""
    element = element if element is not None else name[0]
    padded = f" {name:<3}" if len(name) < 4 else name
    x, y, z = xyz
    return (
        f"{record:<6}{serial:>5} {padded}{altloc}{resname:>3} {chain}{number:>4}{icode}   "
        f"{x:>8.3f}{y:>8.3f}{z:>8.3f}{occupancy:>6.2f}{0.0:>6.2f}          {element:>2}"
    )


def residue_lines(resname: str, number: int, origin: float, **kwargs: object) -> list[str]:
    """N, CA, C, O and one side-chain atom (CB) of a residue placed near x = `origin`."""
    atoms = {"N": (-1.2, 0.6, 0.0), "CA": (0.0, 0.0, 0.0), "C": (1.2, 0.7, 0.0), "O": (1.3, 1.9, 0.0), "CB": (0.0, -1.0, 1.2)}
    return [atom_line(name, resname, number, (origin + x, y, z), **kwargs) for name, (x, y, z) in atoms.items()]  # type: ignore[arg-type]


def write(tmp_path: Path, lines: list[str], name: str = "protein.pdb") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\nEND\n")
    return path


@pytest.mark.parametrize("name", COMPLEXES)
def test_real_proteins_one_node_per_ca(name: str) -> None:
    path = protein_path(name)
    lines = path.read_text().splitlines()
    cas = [line for line in lines if line.startswith("ATOM") and line[12:16] == " CA "]
    receptor = read_protein(path)
    assert len(receptor) == len(cas)
    assert [RESIDUE_TYPES[t] for t in receptor.residue_types] == [line[17:20] for line in cas]
    expected_ca = np.array([[float(line[30:38]), float(line[38:46]), float(line[46:54])] for line in cas])
    np.testing.assert_allclose(receptor.ca, expected_ca, atol=1e-3)
    # backbone bond lengths: N-CA 1.46 A, CA-C 1.52 A
    np.testing.assert_allclose(np.linalg.norm(receptor.n_rel, axis=1), 1.46, atol=0.1)
    np.testing.assert_allclose(np.linalg.norm(receptor.c_rel, axis=1), 1.52, atol=0.1)
    glycine = receptor.residue_types == RESIDUE_TYPES.index("GLY")
    assert not receptor.sidechain_mask[glycine].any() and receptor.sidechain_mask[~glycine].all()
    assert (receptor.sidechain_rel[glycine] == 0).all()


def test_sidechain_centroid_ignores_hydrogens(tmp_path: Path) -> None:
    """Alanine's only side-chain heavy atom is CB: its centroid vector is CB - CA, hydrogens or not."""
    hydrogens = [
        atom_line("HB1", "ALA", 1, (1.0, -1.0, 2.0), element="H"),
        atom_line("HG21", "ALA", 1, (1.0, -3.0, 2.0), element=""),  # no element column: guessed from the name
        atom_line("2HB", "ALA", 1, (-1.0, -1.0, 2.0), element="").replace(" 2HB ", "2HB  "),
    ]
    receptor = read_protein(write(tmp_path, residue_lines("ALA", 1, 0.0) + hydrogens))
    np.testing.assert_allclose(receptor.sidechain_rel[0], [0.0, -1.0, 1.2], atol=1e-3)


def test_mmcif_equals_pdb(tmp_path: Path) -> None:
    from Bio.PDB import MMCIFIO, PDBParser

    path = protein_path("1s3v")
    structure = PDBParser(QUIET=True).get_structure("1s3v", str(path))
    io = MMCIFIO()
    io.set_structure(structure)
    io.save(str(tmp_path / "1s3v.cif"))
    from_pdb, from_cif = read_protein(path), read_protein(tmp_path / "1s3v.cif")
    np.testing.assert_array_equal(from_cif.residue_types, from_pdb.residue_types)
    np.testing.assert_array_equal(from_cif.residue_numbers, from_pdb.residue_numbers)
    for field in ("ca", "n_rel", "c_rel", "sidechain_rel"):
        np.testing.assert_allclose(getattr(from_cif, field), getattr(from_pdb, field), atol=1e-3)


def test_altlocs_keep_highest_occupancy(tmp_path: Path) -> None:
    lines = residue_lines("SER", 1, 0.0)
    lines += [
        atom_line("OG", "SER", 1, (0.0, -2.0, 2.0), altloc="A", occupancy=0.4),
        atom_line("OG", "SER", 1, (0.0, -2.0, 4.0), altloc="B", occupancy=0.6),
    ]
    receptor = read_protein(write(tmp_path, lines))
    assert len(receptor) == 1
    np.testing.assert_allclose(receptor.sidechain_rel[0], [0.0, -1.5, 2.6], atol=1e-3)  # mean of CB and OG(B)


def test_insertion_codes_models_chains_and_modified_residues(tmp_path: Path) -> None:
    lines = (
        residue_lines("GLY", 10, 0.0)
        + residue_lines("ALA", 10, 4.0, icode="A")  # insertion code: a separate residue
        + residue_lines("MSE", 11, 8.0, record="HETATM")  # selenomethionine -> MET
        + residue_lines("XYZ", 12, 12.0)  # unknown amino acid in ATOM records -> other
        + residue_lines("LYS", 1, 16.0, chain="B")
        + [atom_line("O", "HOH", 300, (30.0, 0.0, 0.0), record="HETATM")]  # water: left out
        + [atom_line("C1", "LIG", 301, (31.0, 0.0, 0.0), record="HETATM")]  # hetero group: left out
        + [atom_line("CA", "CA", 302, (32.0, 0.0, 0.0), record="HETATM", element="CA")]  # calcium ion: left out
        + ["ENDMDL", "MODEL        2"]
        + residue_lines("TRP", 99, 40.0)  # second model: ignored
    )
    receptor = read_protein(write(tmp_path, lines))
    names = ["GLY", "ALA", "MET", None, "LYS"]
    assert receptor.residue_types.tolist() == [RESIDUE_TYPES.index(n) if n else OTHER_RESIDUE for n in names]
    assert receptor.insertion_codes.tolist() == ["", "A", "", "", ""]
    assert receptor.chain_ids.tolist() == ["A", "A", "A", "A", "B"]
    assert receptor.residue_names.tolist() == ["GLY", "ALA", "MSE", "XYZ", "LYS"]
    np.testing.assert_allclose(receptor.ca[:, 0], [0.0, 4.0, 8.0, 12.0, 16.0], atol=1e-3)


def test_residue_without_ca_is_skipped_with_a_warning(tmp_path: Path) -> None:
    broken = [line for line in residue_lines("LEU", 2, 4.0) if line[12:16] != " CA "]
    path = write(tmp_path, residue_lines("GLY", 1, 0.0) + broken + residue_lines("ALA", 3, 8.0))
    with pytest.warns(DataWarning, match=r"protein\.pdb: skipped 1 residue\(s\) without a CA atom: A:2 LEU"):
        receptor = read_protein(path)
    assert receptor.residue_numbers.tolist() == [1, 3]
    assert receptor.skipped == ("A:2 LEU",)


def test_many_thousands_of_residues_many_chains(tmp_path: Path) -> None:
    """1of6 (2770 residues, 8 chains) tiled 4 times with new chain ids: 11,080 residues, 32 chains."""
    atoms = [line for line in protein_path("1of6").read_text().splitlines() if line.startswith(("ATOM", "HETATM"))]
    chains = sorted({line[21] for line in atoms})
    letters = iter("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    lines = []
    for _copy in range(4):
        renamed = {chain: next(letters) for chain in chains}
        lines += [line[:21] + renamed[line[21]] + line[22:] for line in atoms]
    path = write(tmp_path, lines)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning expected
        receptor = read_protein(path)
    assert len(receptor) == 4 * len(read_protein(protein_path("1of6")))
    assert len(set(receptor.chain_ids.tolist())) == 4 * len(chains)
    assert time.perf_counter() - start < 5.0  # about 0.5 s on one core
