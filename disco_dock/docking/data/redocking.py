"""A complex to dock again (redocking): its crystal ligand, protein, starting conformer and search
box, as the benchmark harness gives them to every method and the decoy generator to Vina.

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

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rdkit import Chem
from rdkit.Geometry import Point3D

from disco_dock.docking.data.conformers import generate_conformers
from disco_dock.docking.data.discover import ComplexSource
from disco_dock.docking.data.errors import DataError
from disco_dock.docking.data.ligand import Ligand, rdkit_messages, read_ligand
from disco_dock.docking.pocket import Box


@dataclass(frozen=True)
class RedockingComplex:
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


def redocking_box(source: ComplexSource, crystal: Ligand, box_padding: float) -> tuple[Box, str]:
    """The complex's search box and where it came from: its `_box.json`, else the box around the
    crystal ligand grown by `box_padding` (see the module docstring)."""
    box_file = Path(source.ligand).with_name(f"{source.name}_box.json")
    if box_file.is_file():
        return Box.from_json(box_file), str(box_file)
    return Box.around(crystal.positions, box_padding), f"crystal ligand + {box_padding:g} A"


def load_complex(source: ComplexSource, seed: int, box_padding: float) -> RedockingComplex:
    """Read one complex's inputs; DataError with the reason when something cannot be read."""
    if not source.protein.is_file():
        raise DataError(source.protein, "protein file not found")
    crystal = read_ligand(source.ligand, source.ligand_fallback)
    start, start_source = _start_conformer(source, crystal, seed)
    box, box_source = redocking_box(source, crystal, box_padding)
    return RedockingComplex(source.name, source.protein, crystal, start, start_source, box, box_source)
