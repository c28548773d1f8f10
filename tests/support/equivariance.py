"""Symmetry assertions for the docking networks, e3nn-style: move a whole complex graph rigidly and
check that every output transforms as its e3nn irrep."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

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


def assert_equivariant(
    function: Callable[[HeteroData], Tensor | Sequence[Tensor]],
    graph: HeteroData,
    irreps_out: str | Sequence[str],
    *,
    inversion: bool = False,
    seed: int = 0,
    atol: float = 1e-6,
) -> tuple[Tensor, ...]:
    """Check that `function` commutes with a rigid motion of the complex `graph`.

    The motion is x -> Q x + t with a random proper rotation Q and a random translation t (both
    from `seed`); with `inversion`, Q is composed with the inversion -I (an improper motion).
    `function(graph)` returns one tensor or a sequence of them, and `irreps_out` names the e3nn
    irreps of each ("0e" invariant, "0o" pseudoscalar, "1o" vector, "1e" pseudovector, or a sum
    such as "2x0e + 1o"); each tensor's last dimension holds whole copies of them. Every output on
    the moved complex must be the output on `graph` transformed by Q, within `atol`.
    Returns the outputs on `graph`, so a test can also check that they are not trivial.
    """
    generator = torch.Generator().manual_seed(seed)
    dtype = graph[LIGAND].pos.dtype
    matrix = random_rotation(seed, dtype) * (-1 if inversion else 1)
    translation = 10 * torch.randn(3, generator=generator, dtype=dtype)
    before, after = _as_tuple(function(graph)), _as_tuple(function(moved_complex(graph, matrix, translation)))
    irreps = (irreps_out,) if isinstance(irreps_out, str) else tuple(irreps_out)
    assert len(irreps) == len(before) == len(after), f"{len(before)} outputs, irreps for {len(irreps)}"
    for index, (irrep, output, moved_output) in enumerate(zip(irreps, before, after)):
        wigner = o3.Irreps(irrep).D_from_matrix(matrix).to(output.dtype)
        expected = (output.reshape(-1, wigner.shape[0]) @ wigner.T).reshape(output.shape)
        torch.testing.assert_close(moved_output, expected, atol=atol, rtol=0, msg=lambda message: f"output {index} ({irrep}): {message}")
    return before


def _as_tuple(outputs: Tensor | Sequence[Tensor]) -> tuple[Tensor, ...]:
    """One tensor as a 1-tuple; a sequence (e.g. a NamedTuple of scores) as a tuple."""
    return (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
