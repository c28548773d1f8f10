"""Radius/kNN graphs against brute force, and the complex graph's fields and batching."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from disco_dock.docking.data.cache import load_graph
from disco_dock.docking.data.graph import (
    LIGAND,
    LIGAND_BOND,
    LIGAND_RADIUS,
    RECEPTOR,
    RECEPTOR_RADIUS,
    ROTATABLE_BOND,
    TORSION,
    knn,
    knn_graph,
    radius,
    radius_graph,
    torsion_mask,
)
from disco_dock.docking.data.ligand import ATOM_FEATURES, BOND_FEATURES
from disco_dock.docking.data.protein import NUM_RESIDUE_TYPES
from disco_dock.docking.geometry import apply_torsion_changes


def brute_force(x: np.ndarray, y: np.ndarray, r: float, cap: int | None, same: np.ndarray, exclude_self: bool) -> set[tuple[int, int]]:
    """(y index, x index) pairs within r (the `cap` nearest per y point), by explicit loops."""
    pairs = set()
    for i in range(len(y)):
        candidates = []
        for j in range(len(x)):
            d = float(np.linalg.norm(y[i] - x[j]))
            if same[i, j] and d <= r and not (exclude_self and i == j):
                candidates.append((d, j))
        candidates.sort()
        pairs |= {(i, j) for _, j in candidates[:cap]}
    return pairs


def as_pairs(edge_index: torch.Tensor) -> set[tuple[int, int]]:
    return set(map(tuple, edge_index.T.tolist()))


@pytest.fixture
def points() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    pos = torch.rand(150, 3, generator=generator, dtype=torch.float64) * 10
    batch = torch.cat([torch.zeros(70, dtype=torch.long), torch.ones(80, dtype=torch.long)])
    return pos, batch


@pytest.mark.parametrize("cap", [None, 5])
@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("block_elements", [1 << 22, 100])  # one block; many blocks
def test_radius_graph_equals_brute_force(points, cap, batched, block_elements) -> None:
    pos, batch = points
    batch = batch if batched else torch.zeros_like(batch)
    edges = radius_graph(pos, 2.5, batch, max_num_neighbors=cap, block_elements=block_elements)
    same = (batch[:, None] == batch[None, :]).numpy()
    expected = brute_force(pos.numpy(), pos.numpy(), 2.5, cap, same, exclude_self=True)
    # radius_graph edges are [source = neighbour, target = centre]
    assert as_pairs(edges.flip(0)) == expected
    assert edges.shape[1] == len(expected)  # no duplicates
    if cap is not None:
        assert torch.bincount(edges[1], minlength=len(pos)).max() <= cap
        assert edges.shape[1] > 0 and torch.bincount(edges[1]).max() == cap  # the cap is reached here


def test_radius_bipartite_and_knn_equal_brute_force(points) -> None:
    pos, batch = points
    x, y, batch_x, batch_y = pos[:100], pos[100:], batch[:100], batch[100:]
    same = (batch_y[:, None] == batch_x[None, :]).numpy()
    pairs = radius(x, y, 3.0, batch_x, batch_y, max_num_neighbors=4, block_elements=64)
    assert as_pairs(pairs) == brute_force(x.numpy(), y.numpy(), 3.0, 4, same, exclude_self=False)
    assert as_pairs(knn(x, y, 3, batch_x, batch_y)) == brute_force(x.numpy(), y.numpy(), np.inf, 3, same, exclude_self=False)
    same_all = (batch[:, None] == batch[None, :]).numpy()
    expected = brute_force(pos.numpy(), pos.numpy(), np.inf, 6, same_all, exclude_self=True)
    assert as_pairs(knn_graph(pos, 6, batch).flip(0)) == expected


def test_empty_inputs() -> None:
    empty = torch.zeros(0, 3)
    assert radius_graph(empty, 1.0).shape == (2, 0)
    assert radius(torch.rand(4, 3), empty, 1.0).shape == (2, 0)
    assert knn_graph(torch.rand(1, 3), 3).shape == (2, 0)


def test_complex_graph_fields(posebusters_cache: Path) -> None:
    graph = load_graph(posebusters_cache / "1s3v.pt")
    ligand, receptor = graph[LIGAND], graph[RECEPTOR]
    n, m, r = ligand.num_nodes, receptor.num_nodes, graph[TORSION].num_nodes
    assert graph.name == "1s3v" and (n, r) == (27, 6)
    assert ligand.x.shape == (n, len(ATOM_FEATURES)) and ligand.x.dtype == torch.long
    assert ligand.pos.shape == ligand.crystal_pos.shape == (n, 3) and ligand.pos.dtype == torch.float32
    assert graph[LIGAND_BOND].edge_attr.shape == (graph[LIGAND_BOND].edge_index.shape[1], len(BOND_FEATURES))
    assert receptor.x.shape == (m,) and int(receptor.x.max()) < NUM_RESIDUE_TYPES
    for field in ("pos", "n_rel", "c_rel", "sidechain_rel"):
        assert receptor[field].shape == (m, 3)
    assert receptor.sidechain_mask.shape == (m,) and receptor.sidechain_mask.dtype == torch.bool
    for edge_type in (LIGAND_BOND, LIGAND_RADIUS, RECEPTOR_RADIUS):
        assert graph[edge_type].edge_index.dtype == torch.long and graph[edge_type].edge_index.max() < graph[edge_type[0]].num_nodes
    assert torch.bincount(graph[RECEPTOR_RADIUS].edge_index[1]).max() <= 24
    assert graph[ROTATABLE_BOND].edge_index.shape == (2, r)
    # the matched pose is the crystal pose up to the matching RMSD, and reachable by torsions
    assert torch.sqrt(((ligand.pos - ligand.crystal_pos) ** 2).sum(-1).mean()) < 1.0
    mask = torsion_mask(graph)
    assert mask.shape == (r, n)
    assert mask[torch.arange(r), graph[ROTATABLE_BOND].edge_index[1]].all()
    assert not mask[torch.arange(r), graph[ROTATABLE_BOND].edge_index[0]].any()


def test_batches_keep_torsions_per_complex(posebusters_cache: Path) -> None:
    graphs = [load_graph(posebusters_cache / f"{name}.pt") for name in ("1ia1", "1s3v", "1uou")]
    batch = Batch.from_data_list(graphs)
    assert batch.name == ["1ia1", "1s3v", "1uou"]
    mask = torsion_mask(batch)
    expected = torch.block_diag(*[torsion_mask(graph) for graph in graphs])
    assert torch.equal(mask, expected)
    offsets = torch.cumsum(torch.tensor([0] + [g[LIGAND].num_nodes for g in graphs[:-1]]), 0)
    expected_bonds = torch.cat([g[ROTATABLE_BOND].edge_index + o for g, o in zip(graphs, offsets)], dim=1)
    assert torch.equal(batch[ROTATABLE_BOND].edge_index, expected_bonds)
    # torsion changes on the batch equal those on each complex
    delta = torch.linspace(-1.0, 1.0, batch[TORSION].num_nodes)
    moved = apply_torsion_changes(batch[LIGAND].pos, batch[ROTATABLE_BOND].edge_index.T, mask, delta)
    start = 0
    for graph, piece in zip(graphs, torch.split(delta, [g[TORSION].num_nodes for g in graphs])):
        alone = apply_torsion_changes(graph[LIGAND].pos, graph[ROTATABLE_BOND].edge_index.T, torsion_mask(graph), piece)
        torch.testing.assert_close(moved[start : start + graph[LIGAND].num_nodes], alone)
        start += graph[LIGAND].num_nodes
