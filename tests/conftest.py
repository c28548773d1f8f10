"""Fixtures shared by the docking and benchmark tests: small random model files."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def model_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny random blind and pocket models, saved; their paths by mode."""
    from tests.support.models import save_tiny_models  # imported here: the image and toy tests need no docking code

    return save_tiny_models(tmp_path_factory.mktemp("models"))


@pytest.fixture
def one_thread():
    """torch on one thread for the test: bit-for-bit comparisons of two runs, since a parallel
    reduction's order (and so its last bits) can change with the load on the machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
