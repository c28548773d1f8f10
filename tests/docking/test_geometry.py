"""disco_dock.docking.geometry on real ligands (posebusters): rigid motions keep the internal
geometry and move the centroid by the translation; torsion changes move only the moved side and
change the dihedrals as RDKit measures them; uniformly random rotations; rotation vectors and
matrices."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from rdkit import Chem
from rdkit.Chem import rdMolTransforms
from scipy import stats
from scipy.spatial.transform import Rotation

from disco_dock.docking.data.conformers import rotatable_bonds, torsion_quadruples
from disco_dock.docking.data.ligand import read_ligand
from disco_dock.docking.diffusion.torus import wrap_angle
from disco_dock.docking.geometry import apply_pose_update, apply_torsion_changes, dihedrals, matrix_to_rotvec, random_rotvecs, rotvec_to_matrix
from tests.support.complexes import COMPLEXES, ligand_path


@pytest.fixture(scope="module")
def ligand() -> tuple[Chem.Mol, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The 1ia1 ligand (heavy atoms): molecule, positions (N, 3), rotatable bonds and moved atoms."""
    mol = Chem.MolFromMolFile(str(ligand_path("1ia1")))
    bonds, moving = rotatable_bonds(mol)
    assert len(bonds) >= 2
    pos = torch.from_numpy(mol.GetConformer().GetPositions())
    return mol, pos, torch.from_numpy(bonds), torch.from_numpy(moving)


def distances(pos: torch.Tensor) -> torch.Tensor:
    """All pairwise distances (N, N) of a pose."""
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


def wrap(angle: np.ndarray) -> np.ndarray:
    """Angles wrapped into [-pi, pi)."""
    return (angle + np.pi) % (2 * np.pi) - np.pi


@pytest.mark.parametrize("name", COMPLEXES)
def test_torsion_changes_match_rdkit_dihedrals(name: str) -> None:
    ligand = read_ligand(ligand_path(name))
    mol = ligand.mol
    bonds, moving = rotatable_bonds(mol)
    assert len(bonds) > 0
    delta = np.random.default_rng(0).uniform(-np.pi, np.pi, len(bonds))
    pos = torch.as_tensor(ligand.positions)
    new = apply_torsion_changes(pos, torch.as_tensor(bonds), torch.as_tensor(moving), torch.as_tensor(delta)).numpy()

    changed = Chem.Mol(mol)
    conformer = changed.GetConformer()
    for i, xyz in enumerate(new):
        conformer.SetAtomPosition(i, xyz.tolist())
    before = [rdMolTransforms.GetDihedralRad(mol.GetConformer(), *quad) for quad in torsion_quadruples(mol, bonds).tolist()]
    after = [rdMolTransforms.GetDihedralRad(conformer, *quad) for quad in torsion_quadruples(mol, bonds).tolist()]
    np.testing.assert_allclose(wrap(np.array(after) - np.array(before) - delta), 0.0, atol=1e-6)
    # bond lengths do not change
    for bond in mol.GetBonds():
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        assert np.linalg.norm(new[i] - new[j]) == pytest.approx(np.linalg.norm(ligand.positions[i] - ligand.positions[j]), abs=1e-6)


def test_torsion_changes_are_batched_and_differentiable() -> None:
    ligand = read_ligand(ligand_path("1s3v"))
    bonds, moving = (torch.as_tensor(a) for a in rotatable_bonds(ligand.mol))
    pos = torch.as_tensor(ligand.positions)
    delta = torch.randn(5, len(bonds), dtype=torch.float64, requires_grad=True)
    batched = apply_torsion_changes(pos.expand(5, -1, -1), bonds, moving, delta)
    for i in range(5):
        torch.testing.assert_close(batched[i], apply_torsion_changes(pos, bonds, moving, delta[i]))
    batched.sum().backward()
    assert delta.grad is not None and torch.isfinite(delta.grad).all()
    torch.testing.assert_close(apply_torsion_changes(pos, bonds, moving, torch.zeros(len(bonds), dtype=torch.float64)), pos)


def test_rotvec_matrix_round_trip() -> None:
    generator = torch.Generator().manual_seed(4)
    axes = torch.nn.functional.normalize(torch.randn(200, 3, dtype=torch.float64, generator=generator), dim=-1)
    special = torch.tensor([0.0, 1e-9, 1e-4, math.pi / 2, math.pi - 1e-9, math.pi - 1e-6, 3.0, 3.14, 0.5, 1.0], dtype=torch.float64)
    angles = torch.cat([torch.rand(190, dtype=torch.float64, generator=generator) * math.pi, special])
    rotvec = axes * angles[:, None]
    matrix = rotvec_to_matrix(rotvec)
    torch.testing.assert_close(matrix, torch.from_numpy(Rotation.from_rotvec(rotvec.numpy()).as_matrix()))
    torch.testing.assert_close(matrix @ matrix.transpose(-1, -2), torch.eye(3, dtype=torch.float64).expand(200, 3, 3))
    back = matrix_to_rotvec(matrix)
    near_pi = angles > math.pi - 1e-5  # the axis sign is ambiguous at pi
    torch.testing.assert_close(back[~near_pi], rotvec[~near_pi], rtol=0, atol=1e-9)
    torch.testing.assert_close(rotvec_to_matrix(back), matrix, rtol=0, atol=1e-9)
    batched = rotvec_to_matrix(rotvec.reshape(10, 20, 3).float())
    assert batched.shape == (10, 20, 3, 3) and batched.dtype == torch.float32
