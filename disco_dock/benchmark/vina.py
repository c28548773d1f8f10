"""AutoDock Vina (the `vina` package) on one benchmark complex.

* Receptor: the complex's PDB file as a rigid PDBQT (`docking.physics.receptor_pdbqt`, Open
  Babel; atoms of types Vina cannot score are dropped and counted in the notes).
* Ligand: the complex's starting conformer prepared with meeko (`docking.physics.ligand_pdbqt`).
* Search space: the complex's box; exhaustiveness, number of poses, seed and CPUs from
  `BenchmarkConfig`; poses within Vina's default 3 kcal/mol of the best are returned, so there
  may be fewer than asked.
* Poses come back through meeko's export to RDKit (`docking.physics.molecule_from_pdbqt`), as
  heavy-atom coordinates in the crystal ligand's atom order.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from disco_dock.benchmark.config import BenchmarkConfig
from disco_dock.docking.data.ligand import heavy_positions_in_reference_order
from disco_dock.docking.data.redocking import RedockingComplex
from disco_dock.docking.physics import ligand_pdbqt, molecule_from_pdbqt, receptor_pdbqt

ENERGY_RANGE = 3.0
"""Vina's default: poses scoring within this of the best are kept (kcal/mol)."""


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


def poses_in_reference_order(poses_pdbqt: str, complex_: RedockingComplex) -> np.ndarray:
    """(K, N, 3) heavy-atom positions of Vina's output poses, in the crystal ligand's atom order."""
    return heavy_positions_in_reference_order(molecule_from_pdbqt(poses_pdbqt), complex_.crystal.mol)


def dock_with_vina(complex_: RedockingComplex, config: BenchmarkConfig) -> VinaResult:
    """Dock the starting conformer into the box with Vina; poses best first."""
    from vina import Vina

    start = time.perf_counter()
    receptor = receptor_pdbqt(complex_.protein)
    with tempfile.TemporaryDirectory(prefix="disco-dock-vina-") as folder:
        receptor_file = Path(folder) / f"{complex_.name}_receptor.pdbqt"
        receptor_file.write_text(receptor.text)
        vina = Vina(sf_name="vina", cpu=config.vina_cpu, seed=config.seed + 1, verbosity=0)  # Vina reads seed 0 as 'pick one at random'
        vina.set_receptor(rigid_pdbqt_filename=str(receptor_file))
    vina.set_ligand_from_string(ligand_pdbqt(complex_.start))
    vina.compute_vina_maps(center=list(complex_.box.center), box_size=list(complex_.box.size))
    vina.dock(exhaustiveness=config.vina_exhaustiveness, n_poses=config.vina_poses)
    poses = poses_in_reference_order(vina.poses(n_poses=config.vina_poses, energy_range=ENERGY_RANGE), complex_)
    scores = vina.energies(n_poses=config.vina_poses, energy_range=ENERGY_RANGE)[:, 0]
    notes = ", ".join(f"dropped {count} {atom_type} atom(s)" for atom_type, count in sorted(receptor.dropped_atoms.items()))
    return VinaResult(poses, [float(s) for s in scores], time.perf_counter() - start, notes)
