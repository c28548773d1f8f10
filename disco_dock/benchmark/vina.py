"""AutoDock Vina (the `vina` package) on one benchmark complex.

* Receptor: the complex's PDB file converted to a rigid PDBQT with Open Babel (openbabel-wheel),
  not meeko: meeko's receptor route matches every residue to a chemical template and, offline,
  fails on common hetero groups (SO4, cofactors: it wants to download their CCD templates) and
  on PDBbind's ambiguous histidines. Waters and alternate locations other than the first are
  dropped; hydrogens present in the file are kept (non-polar ones merged by the PDBQT writer),
  polar hydrogens are added to a file without any; atoms of types Vina has no parameters for
  (K, Na, Co, ...) are dropped and counted.
* Ligand: the complex's starting conformer prepared with meeko.
* Search space: the complex's box; exhaustiveness, number of poses, seed and CPUs from
  `BenchmarkConfig`; poses within Vina's default 3 kcal/mol of the best are returned, so there
  may be fewer than asked.
* Poses come back through meeko's export to RDKit, as heavy-atom coordinates in the crystal
  ligand's atom order.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from disco_dock.benchmark.config import BenchmarkConfig
from disco_dock.benchmark.inputs import BenchmarkComplex, heavy_positions_in_reference_order

WATER_RESIDUES = ("HOH", "WAT", "DOD", "H2O")
VINA_TYPES = frozenset("C A N O P S H F I NA OA SA HD Mg Mn Zn Ca Fe Cl Br Si".split())
"""AutoDock atom types Vina's scoring function has parameters for."""
ENERGY_RANGE = 3.0
"""Vina's default: poses scoring within this of the best are kept (kcal/mol)."""


@dataclass(frozen=True)
class ReceptorPDBQT:
    """A rigid receptor PDBQT and what was left out of it."""

    text: str
    dropped_atoms: dict[str, int]
    """Atoms of types Vina cannot score, by type."""


@dataclass(frozen=True)
class VinaResult:
    """Vina's poses of one complex, best first."""

    poses: np.ndarray
    """(K, N, 3) heavy-atom positions in the crystal ligand's atom order."""
    scores: list[float]
    """Vina scores (kcal/mol), one per pose."""
    runtime_s: float
    """Receptor and ligand preparation plus docking."""
    notes: str = ""


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


def receptor_pdbqt(protein: Path) -> ReceptorPDBQT:
    """A rigid Vina receptor from a PDB file, with Open Babel (see the module docstring)."""
    from openbabel import openbabel

    openbabel.obErrorLog.SetOutputLevel(0)
    text, has_hydrogens = _cleaned_pdb(Path(protein).read_text())
    conversion = openbabel.OBConversion()
    conversion.SetInAndOutFormats("pdb", "pdbqt")
    conversion.AddOption("r", openbabel.OBConversion.OUTOPTIONS)  # rigid: no torsion tree
    molecule = openbabel.OBMol()
    if not conversion.ReadString(molecule, text) or molecule.NumAtoms() == 0:
        raise ValueError(f"Open Babel cannot read the protein {protein}")
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


def ligand_pdbqt(complex_: BenchmarkComplex) -> str:
    """The starting conformer as a Vina ligand PDBQT, prepared by meeko."""
    from meeko import MoleculePreparation, PDBQTWriterLegacy

    setups = MoleculePreparation().prepare(complex_.start)
    text, ok, error = PDBQTWriterLegacy.write_string(setups[0])
    if not ok:
        raise ValueError(f"meeko cannot write the ligand PDBQT: {error}")
    return text


def poses_in_reference_order(poses_pdbqt: str, complex_: BenchmarkComplex) -> np.ndarray:
    """(K, N, 3) heavy-atom positions of Vina's output poses, in the crystal ligand's atom order."""
    from meeko import PDBQTMolecule, RDKitMolCreate

    molecules = RDKitMolCreate.from_pdbqt_mol(PDBQTMolecule(poses_pdbqt, skip_typing=True))
    if not molecules or molecules[0] is None:
        raise ValueError("meeko cannot turn Vina's poses back into an RDKit molecule")
    return heavy_positions_in_reference_order(molecules[0], complex_.crystal.mol)


def dock_with_vina(complex_: BenchmarkComplex, config: BenchmarkConfig) -> VinaResult:
    """Dock the starting conformer into the box with Vina; poses best first."""
    from vina import Vina

    start = time.perf_counter()
    receptor = receptor_pdbqt(complex_.protein)
    with tempfile.TemporaryDirectory(prefix="disco-dock-vina-") as folder:
        receptor_file = Path(folder) / f"{complex_.name}_receptor.pdbqt"
        receptor_file.write_text(receptor.text)
        vina = Vina(sf_name="vina", cpu=config.vina_cpu, seed=config.seed, verbosity=0)
        vina.set_receptor(rigid_pdbqt_filename=str(receptor_file))
    vina.set_ligand_from_string(ligand_pdbqt(complex_))
    vina.compute_vina_maps(center=list(complex_.box.center), box_size=list(complex_.box.size))
    vina.dock(exhaustiveness=config.vina_exhaustiveness, n_poses=config.vina_poses)
    poses = poses_in_reference_order(vina.poses(n_poses=config.vina_poses, energy_range=ENERGY_RANGE), complex_)
    scores = vina.energies(n_poses=config.vina_poses, energy_range=ENERGY_RANGE)[:, 0]
    notes = ", ".join(f"dropped {count} {atom_type} atom(s)" for atom_type, count in sorted(receptor.dropped_atoms.items()))
    return VinaResult(poses, [float(s) for s in scores], time.perf_counter() - start, notes)
