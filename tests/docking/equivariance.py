"""Helpers for symmetry tests of the docking networks: rigid motions of a whole complex graph."""

from __future__ import annotations

import copy

import torch
from e3nn import o3
from torch import Tensor
from torch_geometric.data import HeteroData

from disco_dock.docking.data.graph import LIGAND, RECEPTOR

POINT_FIELDS = ((LIGAND, "pos"), (LIGAND, "crystal_pos"), (RECEPTOR, "pos"))
"""Graph fields that are positions: rotated and translated."""
VECTOR_FIELDS = ((RECEPTOR, "n_rel"), (RECEPTOR, "c_rel"), (RECEPTOR, "sidechain_rel"))
"""Graph fields that are displacements: rotated only."""


def random_rotation(seed: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """A random proper rotation matrix (3, 3), from the QR decomposition of a Gaussian matrix."""
    q, r = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(seed), dtype=dtype))
    q = q * torch.sign(torch.diagonal(r))
    return q if torch.linalg.det(q) > 0 else -q


def moved_complex(graph: HeteroData, matrix: Tensor, translation: Tensor | None = None) -> HeteroData:
    """A copy of a complex graph (or batch) with every position mapped to `matrix @ x + translation`
    and every displacement to `matrix @ v` (`matrix` may be improper, e.g. -I for an inversion)."""
    moved = copy.copy(graph)
    shift = torch.zeros(3, dtype=matrix.dtype) if translation is None else translation
    for node_type, field in POINT_FIELDS:
        moved[node_type][field] = graph[node_type][field] @ matrix.T + shift
    for node_type, field in VECTOR_FIELDS:
        moved[node_type][field] = graph[node_type][field] @ matrix.T
    return moved


def assert_transforms(before: Tensor, after: Tensor, matrix: Tensor, irrep: str, atol: float = 1e-6) -> None:
    """Check that `after` is `before` (rows of the e3nn irrep `irrep`, e.g. "1o" a vector, "1e" a
    pseudovector, "0o" a pseudoscalar) transformed by the (possibly improper) `matrix`."""
    wigner = o3.Irrep(irrep).D_from_matrix(matrix).to(before.dtype)
    expected = (before.reshape(-1, wigner.shape[0]) @ wigner.T).reshape(before.shape)
    torch.testing.assert_close(after, expected, atol=atol, rtol=0)
