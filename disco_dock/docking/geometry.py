"""Geometry of ligand poses, at the bottom of the docking wing (used by data, diffusion and models).

Rotations (axis-angle matrices, rotation vectors, uniform random rotations), torsion changes of
rotatable bonds, rigid pose updates, Kabsch alignment, RMSD and dihedral angles; torch only.

Torsion convention: a rotatable bond is `(u, v)`; the atoms on `v`'s side (`moving[k]`, `v`
included) rotate, `u`'s side stays. `apply_torsion_changes` rotates `v`'s side by `delta`
radians about the axis from `u` to `v` (right-handed), so that the dihedral angle a-u-v-d, with
`a` on `u`'s side and `d` on `v`'s, grows by exactly `delta` (as RDKit's `GetDihedralRad` measures it).
"""

from __future__ import annotations

import torch


def rotation_matrices(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) right-handed rotations by `angle` (...) about unit vectors `axis` (..., 3)."""
    x, y, z = axis.unbind(-1)
    zero = torch.zeros_like(x)
    cross = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).reshape(*axis.shape[:-1], 3, 3)
    sin, cos = torch.sin(angle)[..., None, None], torch.cos(angle)[..., None, None]
    eye = torch.eye(3, dtype=axis.dtype, device=axis.device)
    return eye + sin * cross + (1 - cos) * (cross @ cross)


def apply_torsion_changes(pos: torch.Tensor, bonds: torch.Tensor, moving: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """Rotate the rotatable bonds of one molecule by `delta` radians; batched over samples.

    `pos` (..., N, 3); `bonds` (R, 2) long; `moving` (R, N) bool; `delta` (..., R), leading
    dimensions broadcast with `pos`'s. Returns new positions (..., N, 3); differentiable. The
    bonds are applied one after another, each vectorised over samples and atoms (the
    dihedral changes do not depend on the order).
    """
    for k in range(bonds.shape[0]):
        u, v = bonds[k, 0], bonds[k, 1]
        origin = pos[..., v, :]
        axis = origin - pos[..., u, :]
        axis = axis / axis.norm(dim=-1, keepdim=True)
        rotation = rotation_matrices(axis, delta[..., k])
        rotated = (pos - origin[..., None, :]) @ rotation.transpose(-1, -2) + origin[..., None, :]
        pos = torch.where(moving[k][:, None], rotated, pos)
    return pos


def kabsch_align(mobile: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """`mobile` (..., N, 3) rigidly moved (rotation + translation) onto `target` (N, 3), least squares."""
    mobile_centre = mobile.mean(dim=-2, keepdim=True)
    target_centre = target.mean(dim=-2, keepdim=True)
    a, b = mobile - mobile_centre, target - target_centre
    u, _, vh = torch.linalg.svd(a.transpose(-1, -2) @ b)
    sign = torch.sign(torch.linalg.det(u @ vh))
    flip = torch.ones_like(u[..., 0, :])
    flip[..., -1] = sign
    rotation = (u * flip[..., None, :]) @ vh  # proper rotation, applied as a @ rotation
    return a @ rotation + target_centre


def rmsd(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Root-mean-square deviation over atoms of (..., N, 3) positions, without alignment."""
    return ((a - b) ** 2).sum(dim=-1).mean(dim=-1).sqrt()


def dihedrals(pos: torch.Tensor, quads: torch.Tensor) -> torch.Tensor:
    """Dihedral angles (radians, (-pi, pi]) of atom quadruples `quads` (Q, 4) in positions (N, 3)."""
    p0, p1, p2, p3 = (pos[quads[:, i]] for i in range(4))
    b0, b1, b2 = p0 - p1, p2 - p1, p3 - p2
    b1 = b1 / b1.norm(dim=-1, keepdim=True)
    v = b0 - (b0 * b1).sum(-1, keepdim=True) * b1
    w = b2 - (b2 * b1).sum(-1, keepdim=True) * b1
    x = (v * w).sum(-1)
    y = (torch.cross(b1, v, dim=-1) * w).sum(-1)
    return torch.atan2(y, x)


def rotvec_to_matrix(rotvec: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) of rotation vectors (axis * angle, right-handed) (..., 3)."""
    angle = rotvec.norm(dim=-1)
    axis = rotvec / angle.clamp_min(1e-12)[..., None]  # the zero vector gives the identity
    return rotation_matrices(axis, angle)


def matrix_to_rotvec(matrix: torch.Tensor) -> torch.Tensor:
    """Rotation vectors (..., 3), angles in [0, pi], of rotation matrices (..., 3, 3).

    Below pi/2 from the antisymmetric part (sin w * axis); above, the axis comes from the
    symmetric part ((1 - cos w) axis axis^T), well conditioned near pi.
    """
    cos = ((matrix.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1)
    antisymmetric = (matrix - matrix.transpose(-1, -2)) / 2
    sin_axis = torch.stack([antisymmetric[..., 2, 1], antisymmetric[..., 0, 2], antisymmetric[..., 1, 0]], dim=-1)
    sin = sin_axis.norm(dim=-1)
    angle = torch.atan2(sin, cos)
    from_sin = sin_axis * (angle / sin.clamp_min(1e-12))[..., None]

    eye = torch.eye(3, dtype=matrix.dtype, device=matrix.device)
    outer = (matrix + matrix.transpose(-1, -2)) / 2 - cos[..., None, None] * eye
    column = outer.diagonal(dim1=-2, dim2=-1).argmax(dim=-1)
    axis = torch.take_along_dim(outer, column[..., None, None].expand(*column.shape, 3, 1), dim=-1)[..., 0]
    axis = axis / axis.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    sign = torch.where((axis * sin_axis).sum(-1) < 0, -1.0, 1.0).to(matrix.dtype)
    from_outer = axis * (sign * angle)[..., None]
    return torch.where((cos > 0)[..., None], from_sin, from_outer)


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
