"""Fixtures of the network tests: real complexes in float64."""

from __future__ import annotations

from pathlib import Path

import pytest
from torch_geometric.data import HeteroData

from disco_dock.docking.data import ComplexDataset
from tests.support.models import as_double


@pytest.fixture(scope="module")
def complexes(posebusters_cache: Path) -> dict[str, HeteroData]:
    """Two posebusters complexes in float64: 1ia1 (19 atoms, 2 torsions), 1s3v (27 atoms, 6 torsions)."""
    return {graph.name: as_double(graph) for graph in ComplexDataset(posebusters_cache, names=["1ia1", "1s3v"])}
