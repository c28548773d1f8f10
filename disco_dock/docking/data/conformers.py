"""Ligand geometry: conformers, rotatable bonds, torsion changes and conformer matching.

Conventions, used by the score model too:

* a rotatable bond is `(u, v)`: the atoms on `v`'s side (`moving[k]`, the smaller side, `v`
  itself included) rotate, `u`'s side stays;
* `geometry.apply_torsion_changes` rotates `v`'s side by `delta` radians about the axis from `u` to `v`
  (right-handed), so that the dihedral angle a-u-v-d, with `a` on `u`'s side and `d` on `v`'s,
  grows by exactly `delta` (as `rdMolTransforms.GetDihedralRad` measures it);
* a bond is rotatable, as in DiffDock, when it is in no ring and cutting it leaves at least two
  heavy atoms on each side (double and amide bonds included).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import torch
from rdkit import Chem
from rdkit.Chem import AllChem

from disco_dock.docking.data.errors import DataError
from disco_dock.docking.data.ligand import rdkit_messages
from disco_dock.docking.geometry import apply_torsion_changes, dihedrals, kabsch_align, rmsd


@dataclass(frozen=True)
class Conformers:
    """Generated heavy-atom conformers of one molecule, and how they were made."""

    pos: np.ndarray  # (K, N, 3) float64
    method: str  # "etkdg", "etkdg (random coordinates)" or "input pose (ETKDG failed: <reason>)"


def generate_conformers(
    mol: Chem.Mol, num: int = 1, seed: int = 0, timeout_s: int = 60, mmff_max_iters: int = 500
) -> Conformers:
    """Up to `num` heavy-atom conformers of `mol` from seeded ETKDGv3, relaxed with MMFF.

    Fallback chain: ETKDGv3 from its usual starting point; ETKDGv3 from random coordinates;
    the molecule's own pose, if it has one (ETKDG cannot embed e.g. molecules read with partial
    sanitisation); else DataError naming the SMILES. UFF relaxes molecules MMFF has no
    parameters for; a molecule neither has parameters for is left as embedded.
    """
    reason = ""
    with rdkit_messages():
        try:
            mol_h = Chem.AddHs(mol)
            params = AllChem.ETKDGv3()
            params.randomSeed = seed
            params.enableSequentialRandomSeeds = True  # conformer i from seed + i (else all alike for seed 0)
            if hasattr(params, "timeout"):  # RDKit >= 2024.09
                params.timeout = timeout_s
            method = "etkdg"
            ids = list(AllChem.EmbedMultipleConfs(mol_h, num, params))
            if not ids:
                params.useRandomCoords = True
                method = "etkdg (random coordinates)"
                ids = list(AllChem.EmbedMultipleConfs(mol_h, num, params))
            if ids and AllChem.MMFFHasAllMoleculeParams(mol_h):
                AllChem.MMFFOptimizeMoleculeConfs(mol_h, maxIters=mmff_max_iters)
            elif ids and AllChem.UFFHasAllMoleculeParams(mol_h):
                AllChem.UFFOptimizeMoleculeConfs(mol_h, maxIters=mmff_max_iters)
            reason = "no conformer, even from random coordinates"
        except Exception as error:  # RDKit raises ValueError, RuntimeError, ... on odd molecules
            ids, reason = [], " ".join(str(error).split()[:12]) or type(error).__name__
    if ids:
        heavy = mol.GetNumAtoms()  # AddHs appends the hydrogens after the heavy atoms
        return Conformers(np.stack([mol_h.GetConformer(i).GetPositions()[:heavy] for i in ids]), method)
    if mol.GetNumConformers():
        return Conformers(mol.GetConformer().GetPositions()[None], f"input pose (ETKDG failed: {reason})")
    raise DataError(Chem.MolToSmiles(mol), f"ETKDG cannot embed the molecule: {reason}")


def _side(neighbours: list[list[int]], start: int, blocked: int) -> list[int]:
    """Atoms reachable from `start` without stepping onto `blocked`."""
    seen = {start}
    queue = deque([start])
    while queue:
        atom = queue.popleft()
        for other in neighbours[atom]:
            if other != blocked and other not in seen:
                seen.add(other)
                queue.append(other)
    return sorted(seen)


def rotatable_bonds(mol: Chem.Mol) -> tuple[np.ndarray, np.ndarray]:
    """Rotatable bonds of a heavy-atom molecule and the atoms each one moves: single bonds outside
    rings with at least two atoms on either side. Double and triple bonds are not rotatable: a
    turned double bond is no longer flat (PoseBusters' double bond flatness) and may have its E/Z
    stereochemistry flipped.

    Returns `bonds` (R, 2) int64 `[u, v]` and `moving` (R, N) bool, `moving[k]` being the
    atoms on `v`'s side of bond k (the smaller side; `v`'s on a tie).
    """
    n = mol.GetNumAtoms()
    neighbours = [[other.GetIdx() for other in atom.GetNeighbors()] for atom in mol.GetAtoms()]
    bonds: list[tuple[int, int]] = []
    masks: list[np.ndarray] = []
    for bond in mol.GetBonds():
        if bond.IsInRing() or bond.GetBondType() != Chem.BondType.SINGLE:
            continue
        u, v = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        side_u, side_v = _side(neighbours, u, v), _side(neighbours, v, u)
        if min(len(side_u), len(side_v)) < 2:
            continue
        if len(side_u) < len(side_v):
            u, v, side_v = v, u, side_u
        mask = np.zeros(n, dtype=bool)
        mask[side_v] = True
        bonds.append((u, v))
        masks.append(mask)
    return np.array(bonds, dtype=np.int64).reshape(-1, 2), np.array(masks, dtype=bool).reshape(-1, n)


def torsion_quadruples(mol: Chem.Mol, bonds: np.ndarray) -> np.ndarray:
    """(R, 4) atoms a-u-v-d spanning each rotatable bond (u, v): the lowest-index neighbours."""
    quads = []
    for u, v in bonds.tolist():
        a = min(n.GetIdx() for n in mol.GetAtomWithIdx(u).GetNeighbors() if n.GetIdx() != v)
        d = min(n.GetIdx() for n in mol.GetAtomWithIdx(v).GetNeighbors() if n.GetIdx() != u)
        quads.append((a, u, v, d))
    return np.array(quads, dtype=np.int64).reshape(-1, 4)


@dataclass(frozen=True)
class MatchResult:
    """A conformer with its torsions set to best match a target pose, aligned onto it."""

    pos: np.ndarray  # (N, 3) the matched conformer, rigidly aligned onto the target
    rmsd_before: float  # RMSD of the conformer rigidly aligned onto the target, before matching (A)
    rmsd: float  # RMSD left after matching the torsions and aligning (A)
    torsion_changes: np.ndarray  # (R,) radians applied to the conformer's rotatable bonds


def match_conformer(
    mol: Chem.Mol,
    conformer: np.ndarray,
    target: np.ndarray,
    bonds: np.ndarray,
    moving: np.ndarray,
    steps_deg: tuple[float, ...] = (30.0, 10.0, 3.0, 1.0),
    rounds: int = 3,
) -> MatchResult:
    """Change `conformer`'s torsions so that, after rigid alignment, it best matches `target`.

    DiffDock's conformer matching, cheaper: every torsion is first set to the target's
    dihedral angle (measured over `torsion_quadruples`), then refined by coordinate descent on
    the aligned RMSD (each bond tried at +-step and +-2 step, for each step in `steps_deg`, at
    most `rounds` sweeps per step). The result is reachable from `conformer` by torsion changes
    plus a rigid motion, so it is a training target the model can reach exactly.
    """
    pos = torch.as_tensor(conformer, dtype=torch.float64)
    goal = torch.as_tensor(target, dtype=torch.float64)
    bonds_t, moving_t = torch.as_tensor(bonds), torch.as_tensor(moving)
    rmsd_before = float(rmsd(kabsch_align(pos, goal), goal))

    quads = torch.as_tensor(torsion_quadruples(mol, bonds))
    change = torch.remainder(dihedrals(goal, quads) - dihedrals(pos, quads) + torch.pi, 2 * torch.pi) - torch.pi
    current = apply_torsion_changes(pos, bonds_t, moving_t, change)
    best = float(rmsd(kabsch_align(current, goal), goal))
    for step in steps_deg:
        offsets = torch.tensor([-2.0, -1.0, 1.0, 2.0], dtype=torch.float64) * np.deg2rad(step)
        for _ in range(rounds):
            improved = False
            for k in range(len(bonds)):
                candidates = apply_torsion_changes(current, bonds_t[k : k + 1], moving_t[k : k + 1], offsets[:, None])
                scores = rmsd(kabsch_align(candidates, goal), goal)
                i = int(scores.argmin())
                if float(scores[i]) < best - 1e-6:
                    best, current, improved = float(scores[i]), candidates[i], True
                    change[k] += offsets[i]
            if not improved:
                break
    return MatchResult(
        pos=kabsch_align(current, goal).numpy(),
        rmsd_before=rmsd_before,
        rmsd=best,
        torsion_changes=change.numpy(),
    )
