"""One benchmark complex's inputs: crystal ligand, protein, starting conformer and search box.

* The crystal ligand is read with `read_ligand` (PDBbind's MOL2 as the fallback); its heavy
  atoms, in its file's order, are the reference every pose is scored against.
* The starting conformer, which every method gets: Astex's `<ID>_ligand_start_conf.sdf` when
  present, else a fresh seeded ETKDG conformer (`generate_conformers`) of the crystal ligand's
  molecule, hydrogens added with coordinates.
* The box (Vina's search space, and disco-dock-pocket's pocket centre): the set's
  `<ID>_box.json` when present (Astex: ligand centre, extent + 10 A per axis), else the same
  rule on the crystal ligand: centre of its heavy atoms' bounding box, edge = heavy-atom extent
  + `box_padding` per axis (no minimum size, as Astex's boxes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rdkit import Chem
from rdkit.Geometry import Point3D

from disco_dock.docking.data.conformers import generate_conformers
from disco_dock.docking.data.discover import ComplexSource
from disco_dock.docking.data.errors import DataError
from disco_dock.docking.data.ligand import Ligand, read_ligand, rdkit_messages


@dataclass(frozen=True)
class Box:
    """An axis-aligned search box (A)."""

    center: tuple[float, float, float]
    size: tuple[float, float, float]

    @classmethod
    def from_vina_json(cls, path: Path) -> "Box":
        """A box from a JSON file with Vina's keys center_x.. and size_x.."""
        values = json.loads(path.read_text())
        return cls(tuple(float(values[f"center_{a}"]) for a in "xyz"), tuple(float(values[f"size_{a}"]) for a in "xyz"))

    @classmethod
    def around(cls, positions: np.ndarray, padding: float) -> "Box":
        """The bounding box of `positions` (N, 3), each edge grown by `padding`."""
        low, high = positions.min(axis=0), positions.max(axis=0)
        return cls(tuple(((low + high) / 2).tolist()), tuple((high - low + padding).tolist()))


@dataclass(frozen=True)
class BenchmarkComplex:
    """What the methods are given (protein, starting conformer, box) and what poses are scored against."""

    name: str
    protein: Path
    crystal: Ligand
    """The crystal ligand, heavy atoms only: the reference order of every pose."""
    start: Chem.Mol
    """Starting conformer with explicit hydrogens (3D), the same for every method."""
    start_source: str
    """Where the starting conformer came from: the start_conf file or "etkdg (seed S)"."""
    box: Box
    box_source: str
    """The `_box.json` file, or "crystal ligand + P A"."""

    @property
    def reference_positions(self) -> np.ndarray:
        """(N, 3) crystal heavy-atom positions."""
        return self.crystal.positions


def _start_conformer(source: ComplexSource, crystal: Ligand, seed: int) -> tuple[Chem.Mol, str]:
    """The starting conformer (with hydrogens) and where it came from."""
    start_file = Path(source.ligand).with_name(f"{source.name}_ligand_start_conf.sdf")
    if start_file.is_file():
        with rdkit_messages():
            mol = next(iter(Chem.SDMolSupplier(str(start_file), removeHs=False)), None)
        if mol is None:
            raise DataError(start_file, "RDKit cannot read the starting conformer")
        return (mol if any(a.GetAtomicNum() == 1 for a in mol.GetAtoms()) else Chem.AddHs(mol, addCoords=True)), str(start_file)
    conformers = generate_conformers(crystal.mol, num=1, seed=seed)
    if not conformers.method.startswith("etkdg"):  # the fallback would hand out the crystal pose
        raise DataError(source.ligand, f"no starting conformer: {conformers.method}")
    mol = Chem.Mol(crystal.mol)
    conformer = mol.GetConformer()
    for i, xyz in enumerate(conformers.pos[0]):
        conformer.SetAtomPosition(i, Point3D(*xyz))
    return Chem.AddHs(mol, addCoords=True), f"{conformers.method} (seed {seed})"


def load_complex(source: ComplexSource, seed: int, box_padding: float) -> BenchmarkComplex:
    """Read one complex's inputs; DataError with the reason when something cannot be read."""
    if not source.protein.is_file():
        raise DataError(source.protein, "protein file not found")
    crystal = read_ligand(source.ligand, source.ligand_fallback)
    start, start_source = _start_conformer(source, crystal, seed)
    box_file = Path(source.ligand).with_name(f"{source.name}_box.json")
    if box_file.is_file():
        box, box_source = Box.from_vina_json(box_file), str(box_file)
    else:
        box, box_source = Box.around(crystal.positions, box_padding), f"crystal ligand + {box_padding:g} A"
    return BenchmarkComplex(source.name, source.protein, crystal, start, start_source, box, box_source)


def _skeleton(mol: Chem.Mol) -> Chem.Mol:
    """The heavy-atom graph of `mol` with elements only: single bonds, no charges, no aromaticity."""
    skeleton = Chem.RWMol(Chem.RemoveAllHs(mol, sanitize=False))
    for atom in skeleton.GetAtoms():
        atom.SetFormalCharge(0)
        atom.SetIsAromatic(False)
        atom.SetNoImplicit(True)
        atom.SetNumExplicitHs(0)
        atom.SetChiralTag(Chem.ChiralType.CHI_UNSPECIFIED)
    for bond in skeleton.GetBonds():
        bond.SetBondType(Chem.BondType.SINGLE)
        bond.SetIsAromatic(False)
    skeleton.UpdatePropertyCache(strict=False)
    return skeleton.GetMol()


def heavy_positions_in_reference_order(mol: Chem.Mol, reference: Chem.Mol) -> np.ndarray:
    """(K, N, 3) heavy-atom positions of every conformer of `mol`, reordered to `reference`'s atoms.

    The atoms are matched on the heavy-atom graph with elements only (bond orders, charges
    and aromaticity may be written differently); DataError when the graphs differ.
    """
    heavy = Chem.RemoveAllHs(mol, sanitize=False)
    if heavy.GetNumAtoms() != reference.GetNumAtoms():
        raise DataError("pose", f"{heavy.GetNumAtoms()} heavy atoms, the crystal ligand has {reference.GetNumAtoms()}")
    match = _skeleton(heavy).GetSubstructMatch(_skeleton(reference))
    if len(match) != reference.GetNumAtoms():
        raise DataError("pose", "its heavy-atom graph does not match the crystal ligand's")
    order = list(match)
    return np.stack([conformer.GetPositions()[order] for conformer in heavy.GetConformers()])
