"""Model files: a bundle saved and loaded again, and a damaged file refused with a clear error."""

from __future__ import annotations

import pytest
import torch

from disco_dock.docking.bundle import DockingModel
from disco_dock.docking.config import DockingConfig
from disco_dock.docking.data.errors import DataError
from tests.support.models import TINY_DOCKING


def test_model_file_round_trip(tmp_path):
    torch.manual_seed(0)
    plain = DockingModel.build(DockingConfig(model=TINY_DOCKING.replace(num_latents=0)))
    assert plain.encoder is None and plain.prior is None
    plain.confidence = None
    plain.save(tmp_path / "plain.pt")
    loaded = DockingModel.load(tmp_path / "plain.pt")
    assert loaded.config == plain.config and set(loaded.networks()) == {"score"}
    for name, value in plain.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], value)
    with pytest.raises(DataError, match="not a disco-dock model file"):
        (tmp_path / "truncated.pt").write_bytes((tmp_path / "plain.pt").read_bytes()[:100])
        DockingModel.load(tmp_path / "truncated.pt")
