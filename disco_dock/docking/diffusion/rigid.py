"""Pose updates of a ligand (translation, rotation about its centroid, torsion changes) and random rotations."""

from __future__ import annotations

import torch

from disco_dock.docking.data.conformers import apply_torsion_changes, kabsch_align
from disco_dock.docking.diffusion.so3 import rotvec_to_matrix


def apply_pose_update(
    pos: torch.Tensor,
    translation: torch.Tensor,
    rotvec: torch.Tensor,
    torsion_delta: torch.Tensor | None = None,
    bonds: torch.Tensor | None = None,
    moving: torch.Tensor | None = None,
    align_torsions: bool = True,
) -> torch.Tensor:
    """Move ligand positions `pos` (..., N, 3) by a pose update; batched over samples.

    `translation` (..., 3) and `rotvec` (..., 3, a rotation vector applied about the ligand's
    centroid) broadcast with `pos`'s leading dimensions; `torsion_delta` (..., R) changes the
    rotatable bonds `bonds` (R, 2) / `moving` (R, N) (see `apply_torsion_changes`). With
    `align_torsions`, as in DiffDock, the torsion-changed ligand is Kabsch-aligned back onto
    the ligand before the change, so that torsion changes carry no rigid motion; without it,
    each bond's non-moving side stays in place. The centroid moves by exactly `translation`
    when aligning (or when there are no torsion changes). Differentiable.
    """
    if torsion_delta is not None:
        flexed = apply_torsion_changes(pos, bonds, moving, torsion_delta)
        pos = kabsch_align(flexed, pos) if align_torsions else flexed
    centroid = pos.mean(dim=-2, keepdim=True)
    rotation = rotvec_to_matrix(rotvec)
    return (pos - centroid) @ rotation.transpose(-1, -2) + centroid + translation[..., None, :]


def random_rotvecs(
    shape: tuple[int, ...],
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Rotation vectors (*shape, 3), angles in [0, pi], of uniformly random (Haar) rotations.

    From unit quaternions uniform on the 3-sphere; for random starting poses.
    """
    quaternion = torch.randn(*shape, 4, generator=generator, dtype=dtype, device=device)
    quaternion = quaternion * torch.where(quaternion[..., :1] < 0, -1.0, 1.0).to(quaternion.dtype)  # q and -q: same rotation
    vector = quaternion[..., 1:]
    length = vector.norm(dim=-1, keepdim=True)
    angle = 2 * torch.atan2(length, quaternion[..., :1])
    return vector / length.clamp_min(1e-12) * angle
