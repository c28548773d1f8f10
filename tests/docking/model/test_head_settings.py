"""The score model's design settings (`torsion_axis`, `sh_lmax`, `vector_norm`, `rigid_head`):
every variant keeps the scores' symmetry, and the torsion head gains tensor-product paths."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import HeteroData

from disco_dock.docking.model import ScoreModel
from disco_dock.docking.model.config import DIRECTION, NONE, ScoreModelConfig
from tests.support.equivariance import assert_equivariant
from tests.support.models import TINY

VARIANTS = {
    "signed axis": {"torsion_axis": "1o + 2e"},
    "sh_lmax 2": {"sh_lmax": 2},
    "no vector norm": {"vector_norm": NONE},
    "direction heads": {"rigid_head": DIRECTION},
}


def sigmas(count: int) -> tuple[torch.Tensor, ...]:
    return tuple(torch.full((count,), value, dtype=torch.float64) for value in (2.0, 0.5, 0.7))


def torsion_paths(config: ScoreModelConfig) -> int:
    """Tensor-product paths into the torsion head's pseudoscalars."""
    return len(ScoreModel(config).torsion_conv.product.paths[0])


@pytest.mark.parametrize("changes", VARIANTS.values(), ids=VARIANTS.keys())
def test_variants_keep_the_scores_symmetry(changes: dict, complexes: dict[str, HeteroData]) -> None:
    """Rotation and inversion: translation a vector, rotation a pseudovector, torsion a pseudoscalar."""
    torch.manual_seed(0)
    model = ScoreModel(TINY.replace(**changes)).double().eval()
    graph = complexes["1s3v"]
    for inversion in (False, True):
        scores = assert_equivariant(lambda moved: model(moved, *sigmas(1)), graph, ["1o", "1e", "0o"], inversion=inversion)
    assert all(score.abs().max() > 0 for score in scores)


def test_the_torsion_head_gains_paths() -> None:
    """DiffDock's 2e axis with sh_lmax 1 leaves one path (1e x 1o); the signed axis and l=2 edges add more."""
    assert torsion_paths(TINY) == 1
    assert torsion_paths(TINY.replace(sh_lmax=2)) == 2
    assert torsion_paths(TINY.replace(torsion_axis="1o + 2e")) == 3
    assert torsion_paths(TINY.replace(torsion_axis="1o + 2e", sh_lmax=2)) > 3


def test_direction_heads_ignore_the_raw_norm() -> None:
    """The DIRECTION head's output norm is the MLP's alone: scaling the raw output's norm up
    changes only the MLP's input, not the vector's length beyond it."""
    torch.manual_seed(0)
    model = ScoreModel(TINY.replace(rigid_head=DIRECTION)).double()
    raw = torch.randn(3, 3, dtype=torch.float64)
    noise = torch.randn(3, TINY.ns, dtype=torch.float64)
    out = model._scaled(raw, model.translation_norm, noise)
    scale = model.translation_norm(torch.cat([raw.norm(dim=1, keepdim=True), noise], dim=1))
    torch.testing.assert_close(out.norm(dim=1, keepdim=True), scale.abs(), atol=1e-5, rtol=0)


@pytest.mark.parametrize("bad", [{"torsion_axis": "0e"}, {"torsion_axis": "1e"}, {"vector_norm": "batch"}, {"rigid_head": "unit"}])
def test_bad_design_settings_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        ScoreModelConfig(**bad)
