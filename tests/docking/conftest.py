"""Fixtures of the docking tests: the four posebusters complexes, preprocessed once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.complexes import COMPLEXES, ligand_path, make_complex, protein_path


@pytest.fixture(scope="session")
def posebusters_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four posebusters complexes preprocessed once, into a PDBbind-layout copy's cache."""
    from disco_dock.docking.data.preprocess import preprocess_dataset

    root = tmp_path_factory.mktemp("posebusters")
    for name in COMPLEXES:
        make_complex(root / "data", name, protein_path(name), ligand_path(name))
    preprocess_dataset(root / "data", root / "cache", progress=False)
    return root / "cache"
