"""Pose updates of a real ligand (posebusters 1ia1): rigid motions keep the internal geometry and
move the centroid by the translation; torsion changes move only the moved side; uniformly
random rotations; and the pose noise schedules."""

from __future__ import annotations

import importlib.resources
import math

import numpy as np
import pytest
import torch
from rdkit import Chem
from scipy import stats

from disco_dock.docking.data.conformers import rotatable_bonds, torsion_quadruples
from disco_dock.docking.geometry import apply_pose_update, dihedrals, random_rotvecs, rotvec_to_matrix
from disco_dock.docking.diffusion.schedule import NoiseSchedule, PoseNoiseSchedules
from disco_dock.docking.diffusion.torus import wrap_angle


@pytest.fixture(scope="module")
def ligand() -> tuple[Chem.Mol, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The 1ia1 ligand (heavy atoms): molecule, positions (N, 3), rotatable bonds and moved atoms."""
    path = importlib.resources.files("posebusters") / "datasets" / "pdb" / "1ia1" / "1ia1_ligand.sdf"
    mol = Chem.MolFromMolFile(str(path))
    bonds, moving = rotatable_bonds(mol)
    assert len(bonds) >= 2
    pos = torch.from_numpy(mol.GetConformer().GetPositions())
    return mol, pos, torch.from_numpy(bonds), torch.from_numpy(moving)


def distances(pos: torch.Tensor) -> torch.Tensor:
    return torch.cdist(pos, pos)


def test_rigid_update_keeps_internal_geometry(ligand: tuple) -> None:
    mol, pos, _, _ = ligand
    generator = torch.Generator().manual_seed(0)
    translation = 5 * torch.randn(8, 3, dtype=torch.float64, generator=generator)
    rotvec = random_rotvecs((8,), generator, dtype=torch.float64)
    moved = apply_pose_update(pos, translation, rotvec)
    assert moved.shape == (8, *pos.shape)
    torch.testing.assert_close(distances(moved), distances(pos).expand(8, -1, -1))
    bond_atoms = torch.tensor([[b.GetBeginAtomIdx(), b.GetEndAtomIdx()] for b in mol.GetBonds()])
    lengths = (pos[bond_atoms[:, 0]] - pos[bond_atoms[:, 1]]).norm(dim=-1)
    torch.testing.assert_close((moved[:, bond_atoms[:, 0]] - moved[:, bond_atoms[:, 1]]).norm(dim=-1), lengths.expand(8, -1))
    torch.testing.assert_close(moved.mean(dim=-2), pos.mean(dim=-2) + translation)
    # the rotation acts about the centroid
    centroid = pos.mean(dim=0)
    expected = (pos - centroid) @ rotvec_to_matrix(rotvec).transpose(-1, -2) + centroid + translation[:, None]
    torch.testing.assert_close(moved, expected)


def test_zero_update_is_identity(ligand: tuple) -> None:
    _, pos, bonds, moving = ligand
    zero = torch.zeros(3, dtype=torch.float64)
    torch.testing.assert_close(apply_pose_update(pos, zero, zero), pos)
    no_torsion = torch.zeros(len(bonds), dtype=torch.float64)
    torch.testing.assert_close(apply_pose_update(pos, zero, zero, no_torsion, bonds, moving), pos)


def test_torsion_update_moves_only_the_moved_side(ligand: tuple) -> None:
    mol, pos, bonds, moving = ligand
    zero = torch.zeros(3, dtype=torch.float64)
    delta = torch.zeros(len(bonds), dtype=torch.float64)
    delta[0] = 1.0
    flexed = apply_pose_update(pos, zero, zero, delta, bonds, moving, align_torsions=False)
    fixed, moved_side = ~moving[0], moving[0]
    torch.testing.assert_close(flexed[fixed], pos[fixed])
    assert (flexed[moved_side] - pos[moved_side]).norm(dim=-1).max() > 0.5
    torch.testing.assert_close(distances(flexed[moved_side]), distances(pos[moved_side]))
    quads = torch.from_numpy(torsion_quadruples(mol, bonds.numpy()))
    torch.testing.assert_close(wrap_angle(dihedrals(flexed, quads) - dihedrals(pos, quads)), delta)


def test_aligned_torsion_update_carries_no_rigid_motion(ligand: tuple) -> None:
    mol, pos, bonds, moving = ligand
    generator = torch.Generator().manual_seed(1)
    delta = torch.randn(6, len(bonds), dtype=torch.float64, generator=generator)
    translation = torch.randn(6, 3, dtype=torch.float64, generator=generator)
    rotvec = random_rotvecs((6,), generator, dtype=torch.float64)
    moved = apply_pose_update(pos, translation, rotvec, delta, bonds, moving)
    torch.testing.assert_close(moved.mean(dim=-2), pos.mean(dim=-2) + translation)
    quads = torch.from_numpy(torsion_quadruples(mol, bonds.numpy()))
    for sample in range(6):
        change = wrap_angle(dihedrals(moved[sample], quads) - dihedrals(pos, quads))
        torch.testing.assert_close(change, wrap_angle(delta[sample]))
    # the Kabsch-aligned change displaces the atoms less than the bare torsion change
    zero = torch.zeros(3, dtype=torch.float64)
    unaligned = apply_pose_update(pos, zero, zero, delta, bonds, moving, align_torsions=False)
    aligned = apply_pose_update(pos, zero, zero, delta, bonds, moving)
    assert ((aligned - pos) ** 2).sum() < ((unaligned - pos) ** 2).sum()
    torch.testing.assert_close(aligned.mean(dim=-2), pos.mean(dim=-2).expand(6, 3))


def test_random_rotvecs_are_uniform() -> None:
    rotvec = random_rotvecs((20000,), torch.Generator().manual_seed(2), dtype=torch.float64)
    angles = rotvec.norm(dim=-1).numpy()
    assert angles.max() <= math.pi + 1e-12
    haar_cdf = lambda w: (w - np.sin(w)) / np.pi  # noqa: E731 - angle density (1 - cos w) / pi
    assert stats.kstest(angles, haar_cdf).statistic < 0.012
    matrices = rotvec_to_matrix(rotvec)
    assert matrices.mean(dim=0).abs().max() < 0.02  # E[R] = 0 under the Haar measure
    torch.testing.assert_close(torch.linalg.det(matrices), torch.ones(20000, dtype=torch.float64))


def test_pose_update_is_differentiable(ligand: tuple) -> None:
    _, pos, bonds, moving = ligand
    translation = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    rotvec = torch.full((3,), 0.1, dtype=torch.float64, requires_grad=True)
    delta = torch.full((len(bonds),), 0.2, dtype=torch.float64, requires_grad=True)
    apply_pose_update(pos, translation, rotvec, delta, bonds, moving).square().sum().backward()
    assert all(torch.isfinite(x.grad).all() for x in (translation, rotvec, delta))


def test_noise_schedules() -> None:
    schedules = PoseNoiseSchedules()
    assert schedules.translation == NoiseSchedule(0.1, 19.0)
    assert schedules.rotation == NoiseSchedule(0.03, 1.55)
    assert schedules.torsion == NoiseSchedule(0.0314, 3.14)
    for schedule in (schedules.translation, schedules.rotation, schedules.torsion):
        assert schedule.sigma(0.0) == pytest.approx(schedule.sigma_min)
        assert schedule.sigma(1.0) == pytest.approx(schedule.sigma_max)
        t = torch.linspace(0.05, 0.95, 10, dtype=torch.float64)
        h = 1e-6
        numeric = (schedule.sigma(t + h) ** 2 - schedule.sigma(t - h) ** 2) / (2 * h)
        torch.testing.assert_close(schedule.g_squared(t), numeric, rtol=1e-6, atol=0)
    _, rotation, _ = schedules.sigmas(torch.tensor([0.5]))
    assert float(rotation) == pytest.approx(math.sqrt(0.03 * 1.55))
