"""Fixtures of the physics tests: Vina pockets of the posebusters complexes, prepared once."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pytest

from disco_dock.docking.physics import VinaPocket
from disco_dock.docking.pocket import Box
from tests.support.complexes import protein_path
from tests.support.poses import crystal

POCKET_PADDING = 10.0
"""Edge growth of the test boxes around the crystal ligand (A): 5 A on each side."""


@cache
def _pocket(name: str) -> VinaPocket:
    return VinaPocket.prepare(
        protein_path(name),
        Box.around(crystal(name).GetConformer().GetPositions(), POCKET_PADDING),
    )


@pytest.fixture(scope="session")
def pocket() -> Callable[[str], VinaPocket]:
    """`pocket(name)`: complex `name`'s Vina pocket around its crystal ligand, prepared once per session."""
    return _pocket
