"""Physics for docking poses: AutoDock Vina scoring, refinement and search, PoseBusters validity.

* `receptor`: a rigid Vina receptor PDBQT from a PDB file (Open Babel);
* `ligand`: RDKit pose -> Vina ligand PDBQT (meeko) and Vina's poses -> RDKit molecules in the
  input's heavy-atom order;
* `pocket`: `VinaPocket`, one receptor and box with Vina's maps computed once, then
  `score`, `refine` and `search` for any number of poses;
* `validity`: `check_poses`, PoseBusters' "dock" checks per pose;
* `errors`: `PhysicsError`, the one exception (a `ValueError` with a one-line message).

Licences of the tools used here: AutoDock Vina (`vina`) Apache-2.0; meeko LGPL-2.1; Open Babel
(`openbabel-wheel`) GPL-2.0, imported at run time by `receptor` only; PoseBusters MIT.
"""

import importlib

from disco_dock.docking.physics.errors import PhysicsError
from disco_dock.docking.physics.ligand import ligand_pdbqt, molecule_from_pdbqt, poses_from_pdbqt
from disco_dock.docking.physics.pocket import DockedPose, RefinedPose, VinaPocket
from disco_dock.docking.physics.receptor import ReceptorPDBQT, receptor_pdbqt
from disco_dock.docking.physics.validity import PoseCheck, check_poses

LIBRARIES = ("vina", "meeko", "openbabel.openbabel", "posebusters", "posebusters.tools.loading")
"""The libraries the modules above import when first used."""


def import_libraries() -> None:
    """Import `LIBRARIES` now (a second or two): worker processes forked later (`core.capped`)
    then find them loaded instead of importing them again for every call."""
    for name in LIBRARIES:
        importlib.import_module(name)


__all__ = [
    "DockedPose",
    "PhysicsError",
    "PoseCheck",
    "ReceptorPDBQT",
    "RefinedPose",
    "VinaPocket",
    "check_poses",
    "import_libraries",
    "ligand_pdbqt",
    "molecule_from_pdbqt",
    "poses_from_pdbqt",
    "receptor_pdbqt",
]
