"""The pose confidence model: invariance to rigid motions and fitting labels."""

from __future__ import annotations

import torch
from torch.nn.functional import binary_cross_entropy_with_logits
from torch_geometric.data import Batch, HeteroData

from disco_dock.docking.model import ConfidenceModel, ScoreModel
from tests.support.equivariance import assert_equivariant
from tests.support.models import TINY
from tests.support.training import adam_steps


def test_confidence_is_invariant_to_rigid_motions(complexes: dict[str, HeteroData]) -> None:
    torch.manual_seed(7)
    confidence = ConfidenceModel(TINY).double()
    assert_equivariant(confidence, complexes["1s3v"], "0e", seed=4, atol=1e-9)


def test_confidence_fits_labels(complexes: dict[str, HeteroData]) -> None:
    batch = Batch.from_data_list([complexes["1ia1"], complexes["1s3v"]])
    labels = torch.tensor([0.0, 1.0], dtype=torch.float64)
    torch.manual_seed(8)
    model = ConfidenceModel(TINY.replace(num_layers=1)).double()
    assert model(batch).shape == (2,)
    losses = adam_steps(model.parameters(), lambda: binary_cross_entropy_with_logits(model(batch), labels), steps=30, lr=1e-2)
    assert losses[-1] < 0.5 * losses[0]
    logits = model(batch)
    assert logits[0] < 0 < logits[1]


def test_confidence_trunk_takes_every_weight_of_the_score_models() -> None:
    torch.manual_seed(9)
    score_model, confidence = ScoreModel(TINY), ConfidenceModel(TINY)
    assert confidence.trunk.copy_from(score_model.trunk) == []
    source = dict(score_model.trunk.named_parameters())
    for name, parameter in confidence.trunk.named_parameters():
        torch.testing.assert_close(parameter, source[name], atol=0, rtol=0)
