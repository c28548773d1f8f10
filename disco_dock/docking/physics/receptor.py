"""Rigid Vina receptors from PDB files, with Open Babel.

Not meeko: meeko's receptor route matches every residue to a chemical template and, offline,
fails on common hetero groups (SO4, cofactors: it wants to download their CCD templates) and on
PDBbind's ambiguous histidines. Open Babel types every atom it reads instead.

* Waters and alternate locations other than blank/A are dropped.
* Hydrogens present in the file are kept (the PDBQT writer merges the non-polar ones); a file
  without any gets polar hydrogens added.
* Hetero groups (cofactors, metals, ions) stay in the receptor; atoms of types Vina has no
  parameters for (K, Na, Co, ...) are dropped and counted in `ReceptorPDBQT.dropped_atoms`.
* Given the boxes whose maps will be computed (`near`), only the residues that can reach them are
  converted: Open Babel's time grows with the protein, and Vina itself only uses receptor atoms
  within its cutoff of the box. A residue is kept whole when any of its atoms lies within
  `VINA_CUTOFF` + `BOND_MARGIN` of a box, so an atom whose typing could change with a dropped
  neighbour residue lies beyond Vina's cutoff: the maps, and so every score, stay the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from disco_dock.docking.physics.errors import PhysicsError
from disco_dock.docking.physics.pdb_lines import atom_positions, is_atom, whole_residues
from disco_dock.docking.pocket import Box

WATER_RESIDUES = ("HOH", "WAT", "DOD", "H2O")
"""Residue names of waters, which the receptor leaves out."""
VINA_TYPES = frozenset("C A N O P S H F I NA OA SA HD Mg Mn Zn Ca Fe Cl Br Si".split())
"""AutoDock atom types Vina's scoring function has parameters for."""
VINA_CUTOFF = 8.0
"""Vina's interaction cutoff (A): its maps over a box use only receptor atoms this close to it."""
BOND_MARGIN = 2.5
"""More than the longest bond between two residues (A): see the module docstring."""


@dataclass(frozen=True)
class ReceptorPDBQT:
    """A rigid receptor PDBQT and what was left out of it."""

    text: str
    dropped_atoms: dict[str, int]
    """Atoms of types Vina cannot score, by type."""
    near: tuple[Box, ...] | None = None
    """The boxes the receptor was cropped for (None: the whole protein)."""

    def covers(self, box: Box) -> bool:
        """Whether Vina's maps over `box` are those of the whole protein: the receptor is whole,
        or `box` lies inside one of the boxes it was cropped for."""
        return self.near is None or any(near.encloses(box) for near in self.near)


def is_water(line: str) -> bool:
    """Whether a PDB line is an atom of a water."""
    return is_atom(line) and line[17:20].strip() in WATER_RESIDUES


def _cleaned_pdb(text: str) -> tuple[list[str], bool]:
    """PDB lines without waters and without alternate locations other than blank/A; and whether they have hydrogens."""
    kept, has_hydrogens = [], False
    for line in text.splitlines():
        if is_atom(line):
            if is_water(line) or line[16] not in " A":
                continue
            element = line[76:78].strip() if len(line) >= 78 else ""
            has_hydrogens |= element in ("H", "D") or (not element and line[12:16].strip().startswith("H"))
        kept.append(line)
    return kept, has_hydrogens


def _near_residues(lines: list[str], boxes: Sequence[Box]) -> list[str]:
    """`lines` with only the residues that have an atom within `VINA_CUTOFF` + `BOND_MARGIN` of a
    box, or, when no atom is that close, within the nearest atom's distance + 1 A (the maps are
    then empty either way, and Vina needs a receptor)."""
    try:
        positions = atom_positions(lines)
    except ValueError:
        return lines  # coordinates Open Babel will read or refuse: leave the file as it is
    if len(positions) == 0:
        return lines
    distances = np.min([box.distances(positions) for box in boxes], axis=0)
    return whole_residues(lines, distances <= max(VINA_CUTOFF + BOND_MARGIN, float(distances.min()) + 1.0))


def receptor_pdbqt(protein: str | Path, near: Sequence[Box] | None = None) -> ReceptorPDBQT:
    """A rigid Vina receptor from a PDB file (see the module docstring), whole or, given `near`,
    the residues that reach Vina's maps over those boxes; PhysicsError when unreadable."""
    from openbabel import openbabel

    try:
        lines, has_hydrogens = _cleaned_pdb(Path(protein).read_text())
    except (OSError, UnicodeDecodeError) as error:
        raise PhysicsError(f"{protein}: cannot read the protein file ({error.__class__.__name__})") from error
    if near is not None:
        if not near:
            raise PhysicsError(f"{protein}: no Vina box to prepare the receptor for")
        lines = _near_residues(lines, near)
    text = "\n".join(lines) + "\n"
    openbabel.obErrorLog.SetOutputLevel(0)
    conversion = openbabel.OBConversion()
    conversion.SetInAndOutFormats("pdb", "pdbqt")
    conversion.AddOption("r", openbabel.OBConversion.OUTOPTIONS)  # rigid: no torsion tree
    molecule = openbabel.OBMol()
    if not conversion.ReadString(molecule, text) or molecule.NumAtoms() == 0:
        raise PhysicsError(f"Open Babel cannot read the protein {protein}")
    if not has_hydrogens:
        molecule.AddPolarHydrogens()
    lines, dropped = [], {}
    for line in conversion.WriteString(molecule).splitlines():
        atom_type = line[77:].strip() if is_atom(line) else None
        if atom_type is not None and atom_type not in VINA_TYPES:
            dropped[atom_type] = dropped.get(atom_type, 0) + 1
            continue
        lines.append(line)
    return ReceptorPDBQT("\n".join(lines) + "\n", dropped, None if near is None else tuple(near))
