"""A per-complex Vina context: receptor and maps prepared once, then any number of ligand poses.

`VinaPocket.prepare(protein, box, ligand)` converts the receptor (`receptor.receptor_pdbqt`) and
computes Vina's grid maps over the box for the atom types of `ligand` (the molecule whose poses
will be scored, refined or searched: 2-3 times faster than maps for every atom type, the same
scores), or for every atom type without one; afterwards, per pose:

* `score(mol)`: Vina's score of the pose as it is (kcal/mol);
* `refine(mol)`: Vina's local optimisation (BFGS over position, orientation and torsions: bond
  lengths, angles, ring shapes and chirality stay as they are);
* `search(mol, ...)`: Vina's Monte-Carlo docking from the molecule's conformer (its bond
  lengths, angles and rings; position, orientation and torsions are searched); poses with a
  broken bond (`intact_poses`) are left out.

Poses leaving the box: Vina only has maps inside the box, and on a ligand outside them it ends
the whole process. So `score` and `refine` check every atom Vina models (heavy atoms and polar
hydrogens, as in the ligand PDBQT) against the box first and raise `PhysicsError` for a pose that sticks out; nothing is
clipped (that would change the pose) and the maps are not enlarged silently (that costs a new
map computation). Callers test poses with `contains` and build the box to hold the poses they
will refine: `VinaPocket.around(protein, poses, padding)` for blind mode. During `refine` and
`search` Vina's own out-of-grid penalty keeps the ligand inside the box.

Setting a ligand costs Vina a table over every pair of its atoms (about 0.1-0.25 s for a
drug-sized molecule, more than a local optimisation), so a pocket remembers the PDBQT Vina holds
and does not set the same one again (the maps' molecule is usually also the first pose refined),
and recomputing maps for another box keeps whatever ligand of the same atom types Vina holds.
"""

from __future__ import annotations

import math
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdMolAlign

from disco_dock.docking.pocket import Box
from disco_dock.docking.physics.errors import PhysicsError
from disco_dock.docking.physics.ligand import BOND_TOLERANCE, bond_indices, bonds_kept, heavy_atoms, ligand_pdbqt, poses_from_pdbqt, with_hydrogens
from disco_dock.docking.physics.pdb_lines import atom_positions, is_atom
from disco_dock.docking.physics.receptor import ReceptorPDBQT, receptor_pdbqt

VINA, VINARDO = "vina", "vinardo"
SCORING_FUNCTIONS = (VINA, VINARDO)
"""Vina's scoring functions used here: its own, and Vinardo (Quiroga & Villarreal 2016: the same
search and terms re-fitted, with a different steric term and atom radii)."""
BLIND_PADDING = 8.0
"""Default growth of each edge of a box around poses (A), 4 A on either side."""


@dataclass(frozen=True)
class RefinedPose:
    """One pose after Vina's local optimisation."""

    mol: Chem.Mol
    """Heavy atoms in the input's heavy-atom order, refined coordinates."""
    score: float
    """Vina score of the refined pose (kcal/mol)."""
    unrefined_score: float
    """Vina score of the input pose (kcal/mol)."""
    shift: float
    """Heavy-atom RMSD between the input and the refined pose (A, symmetry-aware, no alignment)."""


@dataclass(frozen=True)
class DockedPose:
    """One pose from Vina's search."""

    mol: Chem.Mol
    """Heavy atoms in the input's heavy-atom order."""
    score: float
    """Vina score (kcal/mol)."""


def _check_box(receptor: ReceptorPDBQT, box: Box) -> None:
    """PhysicsError for a box that is not finite or whose maps the (cropped) receptor would get wrong."""
    if min(box.size) <= 0 or not np.isfinite(box.center + box.size).all():
        raise PhysicsError(f"invalid Vina box: centre {box.center}, size {box.size}")
    if not receptor.covers(box):
        raise PhysicsError(f"the receptor was cropped for other boxes than centre {box.center}, size {box.size}: prepare it for this one")


def _atom_types(pdbqt: str) -> frozenset[str]:
    """The AutoDock atom types of a ligand PDBQT (each atom line's last field)."""
    return frozenset(line.split()[-1] for line in pdbqt.splitlines() if is_atom(line))


def _engine(receptor: ReceptorPDBQT, box: Box, cpu: int, seed: int, ligand: str | None, scoring: str):
    """A `vina.Vina` with scoring function `scoring`, the receptor set and maps computed over `box`:
    for the atom types of the `ligand` PDBQT (Vina maps only the types of a ligand set before the
    maps), else for all."""
    from vina import Vina

    engine = Vina(sf_name=scoring, cpu=cpu, seed=seed, verbosity=0)
    with tempfile.TemporaryDirectory(prefix="disco-dock-vina-") as folder:
        receptor_file = Path(folder) / "receptor.pdbqt"
        receptor_file.write_text(receptor.text)
        engine.set_receptor(rigid_pdbqt_filename=str(receptor_file))
    if ligand is not None:
        engine.set_ligand_from_string(ligand)
    engine.compute_vina_maps(center=list(box.center), box_size=list(box.size))
    return engine


class VinaPocket:
    """Vina set up on one receptor and box; scores, refines and docks poses (see the module docstring).
    `scoring` is the scoring function: one of `SCORING_FUNCTIONS`."""

    def __init__(
        self, receptor: ReceptorPDBQT, box: Box, cpu: int = 1, seed: int = 1, ligand: Chem.Mol | None = None, scoring: str = VINA
    ) -> None:
        _check_box(receptor, box)
        if scoring not in SCORING_FUNCTIONS:
            raise ValueError(f"unknown scoring function {scoring!r}: use one of {', '.join(SCORING_FUNCTIONS)}")
        self.receptor, self.box, self.cpu, self.seed, self.scoring = receptor, box, cpu, seed, scoring
        self._ligand = ligand_pdbqt(ligand) if ligand is not None else None
        self._engine = _engine(receptor, box, cpu, seed, self._ligand, scoring)
        self._held = self._ligand
        """The ligand PDBQT Vina holds as set, or None when there is none or Vina has moved it."""
        self._held_types = _atom_types(self._ligand) if self._ligand is not None else frozenset()
        """The atom types of the ligand Vina holds, moved or not (those its next maps cover)."""

    @classmethod
    def prepare(cls, protein: str | Path, box: Box, cpu: int = 1, seed: int = 1, ligand: Chem.Mol | None = None) -> VinaPocket:
        """Receptor from the PDB file `protein` (the residues that reach `box`), maps over `box`
        (for `ligand`'s atom types when given); `seed` is the default search seed (0: Vina picks one)."""
        return cls(receptor_pdbqt(protein, near=[box]), box, cpu, seed, ligand)

    @classmethod
    def around(
        cls, protein: str | Path, poses: Sequence[Chem.Mol], padding: float = BLIND_PADDING, cpu: int = 1, seed: int = 1
    ) -> VinaPocket:
        """Blind mode: the box is the bounding box of every pose's atoms, each edge grown by
        `padding` (A); maps for the atom types of the poses (all of one molecule)."""
        if not poses:
            raise PhysicsError("no poses to put a box around")
        positions = np.concatenate([with_hydrogens(mol).GetConformer().GetPositions() for mol in poses])
        return cls.prepare(protein, Box.around(positions, padding), cpu, seed, poses[0])

    def move_to(self, box: Box) -> None:
        """Compute the maps over `box` instead (the receptor stays loaded: cheaper than a new
        pocket; the default search seed stays). The receptor must cover it (`ReceptorPDBQT.covers`)."""
        _check_box(self.receptor, box)
        if self._ligand is not None and self._held_types != _atom_types(self._ligand):
            self._hold(self._ligand)
        self._engine.compute_vina_maps(center=list(box.center), box_size=list(box.size))
        self.box = box

    def contains(self, mol: Chem.Mol) -> bool:
        """Whether every atom Vina models of `mol` (heavy atoms and polar hydrogens) lies inside the box."""
        return self._overhang(ligand_pdbqt(mol)) == 0.0

    def _overhang(self, pdbqt: str) -> float:
        """How far (A) the farthest atom of a ligand PDBQT sticks out of the box; 0 inside."""
        positions = atom_positions(pdbqt.splitlines())
        offset = np.abs(positions - np.asarray(self.box.center)) - np.asarray(self.box.size) / 2
        return float(max(offset.max(), 0.0))

    def _load(self, mol: Chem.Mol) -> None:
        """Set `mol`'s pose as Vina's ligand, after checking that it lies inside the box."""
        pdbqt = ligand_pdbqt(mol)
        overhang = self._overhang(pdbqt)
        if overhang > 0:
            raise PhysicsError(f"the pose leaves the Vina box by {overhang:.2f} A: make the box bigger")
        self._hold(pdbqt)

    def _hold(self, pdbqt: str) -> None:
        """Set the ligand PDBQT on Vina's engine, unless Vina holds it already, and remember it."""
        if pdbqt != self._held:
            self._engine.set_ligand_from_string(pdbqt)
        self._held, self._held_types = pdbqt, _atom_types(pdbqt)

    def score(self, mol: Chem.Mol) -> float:
        """Vina's score of `mol`'s pose as it is (kcal/mol)."""
        self._load(mol)
        return float(self._engine.score()[0])

    def refine(self, mol: Chem.Mol, max_steps: int = 0) -> RefinedPose:
        """Vina's local optimisation of `mol`'s pose; `max_steps` 0 is Vina's default, (25 + atoms) / 3."""
        self._load(mol)
        unrefined = float(self._engine.score()[0])
        refined_score = float(self._engine.optimize(max_steps=max_steps)[0])
        self._held = None  # Vina's ligand now has the refined pose
        with tempfile.TemporaryDirectory(prefix="disco-dock-vina-") as folder:  # Vina writes the pose to files only
            pose_file = Path(folder) / "pose.pdbqt"
            self._engine.write_pose(str(pose_file))
            refined = poses_from_pdbqt(pose_file.read_text(), mol)[0]
        shift = rdMolAlign.CalcRMS(refined, heavy_atoms(mol))
        return RefinedPose(refined, refined_score, unrefined, float(shift))

    def search(
        self, mol: Chem.Mol, exhaustiveness: int = 8, num_poses: int = 20, seed: int | None = None, energy_range: float = math.inf
    ) -> list[DockedPose]:
        """Vina's docking from `mol`'s conformer: up to `num_poses` poses, best first.

        Poses scoring more than `energy_range` (kcal/mol) above the best are dropped (Vina's
        command line uses 3; the default keeps all), and so are poses with a broken bond
        (`intact_poses`: a macrocycle's ring that Vina left open), with a warning. A `seed` other than the pocket's costs one
        more map computation (Vina fixes the seed when it is created).
        """
        pdbqt = ligand_pdbqt(mol)
        if seed is None or seed == self.seed:
            engine = self._engine
            self._hold(pdbqt)
            self._held = None  # Vina's ligand ends at one of its poses
        else:
            engine = _engine(self.receptor, self.box, self.cpu, seed, self._ligand, self.scoring)
            if pdbqt != self._ligand:
                engine.set_ligand_from_string(pdbqt)
        engine.dock(exhaustiveness=exhaustiveness, n_poses=num_poses)
        poses = poses_from_pdbqt(engine.poses(n_poses=num_poses, energy_range=energy_range), mol)
        scores = engine.energies(n_poses=num_poses, energy_range=energy_range)[:, 0]
        return intact_poses([DockedPose(pose, float(score)) for pose, score in zip(poses, scores, strict=True)], mol)


def intact_poses(poses: Sequence[DockedPose], start: Chem.Mol) -> list[DockedPose]:
    """The poses whose every bond keeps its length in `start` (the conformer Vina searched from)
    within `BOND_TOLERANCE`, with a warning naming how many were left out. meeko opens a
    macrocycle's ring for Vina's search and Vina closes it again by a penalty, which some poses
    do not satisfy: such poses are not the molecule. The poses hold `heavy_atoms(start)`'s atoms
    in its order, as `search` returns them."""
    if not poses:
        return []
    heavy = heavy_atoms(start)
    positions = np.stack([pose.mol.GetConformer().GetPositions() for pose in poses])
    kept = bonds_kept(positions, heavy.GetConformer().GetPositions(), bond_indices(heavy))
    if not kept.all():
        warnings.warn(f"Vina's search: {(~kept).sum()} of {len(poses)} poses with a bond stretched or shrunk by over {BOND_TOLERANCE} A left out", stacklevel=3)
    return [pose for pose, keep in zip(poses, kept, strict=True) if keep]
