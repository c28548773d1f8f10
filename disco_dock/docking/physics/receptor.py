"""Rigid Vina receptors from PDB files, with Open Babel.

Not meeko: meeko's receptor route matches every residue to a chemical template and, offline,
fails on common hetero groups (SO4, cofactors: it wants to download their CCD templates) and on
PDBbind's ambiguous histidines. Open Babel types every atom it reads instead.

* Waters and alternate locations other than blank/A are dropped.
* Hydrogens present in the file are kept (the PDBQT writer merges the non-polar ones); a file
  without any gets polar hydrogens added.
* Hetero groups (cofactors, metals, ions) stay in the receptor; atoms of types Vina has no
  parameters for (K, Na, Co, ...) are dropped and counted in `ReceptorPDBQT.dropped_atoms`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from disco_dock.docking.physics.errors import PhysicsError

WATER_RESIDUES = ("HOH", "WAT", "DOD", "H2O")
"""Residue names of waters, which the receptor leaves out."""
VINA_TYPES = frozenset("C A N O P S H F I NA OA SA HD Mg Mn Zn Ca Fe Cl Br Si".split())
"""AutoDock atom types Vina's scoring function has parameters for."""


@dataclass(frozen=True)
class ReceptorPDBQT:
    """A rigid receptor PDBQT and what was left out of it."""

    text: str
    dropped_atoms: dict[str, int]
    """Atoms of types Vina cannot score, by type."""


def _cleaned_pdb(text: str) -> tuple[str, bool]:
    """PDB text without waters and without alternate locations other than blank/A; and whether it has hydrogens."""
    kept, has_hydrogens = [], False
    for line in text.splitlines():
        if line.startswith(("ATOM", "HETATM")):
            if line[17:20].strip() in WATER_RESIDUES or line[16] not in " A":
                continue
            element = line[76:78].strip() if len(line) >= 78 else ""
            has_hydrogens |= element in ("H", "D") or (not element and line[12:16].strip().startswith("H"))
        kept.append(line)
    return "\n".join(kept) + "\n", has_hydrogens


def receptor_pdbqt(protein: str | Path) -> ReceptorPDBQT:
    """A rigid Vina receptor from a PDB file (see the module docstring); PhysicsError when unreadable."""
    from openbabel import openbabel

    try:
        text, has_hydrogens = _cleaned_pdb(Path(protein).read_text())
    except (OSError, UnicodeDecodeError) as error:
        raise PhysicsError(f"{protein}: cannot read the protein file ({error.__class__.__name__})") from error
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
        atom_type = line[77:].strip() if line.startswith(("ATOM", "HETATM")) else None
        if atom_type is not None and atom_type not in VINA_TYPES:
            dropped[atom_type] = dropped.get(atom_type, 0) + 1
            continue
        lines.append(line)
    return ReceptorPDBQT("\n".join(lines) + "\n", dropped)
