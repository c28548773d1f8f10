"""The 2D study end to end at a tiny size, through the CLI."""

import json

import torch
from typer.testing import CliRunner

from disco_dock.cli import app
from disco_dock.core.training import save_checkpoint
from disco_dock.toy.data import NUM_MODES, mode_means, nearest_mode, sample_mixture

TINY = ["--steps", "200", "--eval-points", "128"]


def test_mixture_means_lie_on_the_circle_and_modes_are_balanced():
    means = mode_means()
    assert torch.allclose(means.norm(dim=1), torch.full((NUM_MODES,), 3.0, dtype=torch.float64))
    # mu_7 (index 3, counting from mu_1 at angle 0) is (-3/sqrt2, 3/sqrt2): the appendix's sign typo fixed.
    assert torch.allclose(means[3], torch.tensor([-3 / 2**0.5, 3 / 2**0.5], dtype=torch.float64))
    points, modes = sample_mixture(800, stratified=True)
    assert torch.bincount(modes).tolist() == [100] * NUM_MODES
    assert (nearest_mode(points) == modes).float().mean() > 0.99


def test_toy_command_writes_results_and_figures(tmp_path):
    result = CliRunner().invoke(app, ["toy", "--out", str(tmp_path), *TINY])
    assert result.exit_code == 0, result.output
    assert "W2 to fresh data" in result.output
    results = json.loads((tmp_path / "results.json").read_text())
    for key in ("plain", "disco", "data_floor", "disco_squared"):
        assert results["w2"][key] > 0
    assert len(results["curvature"]["t"]) == len(results["curvature"]["disco"]) == 50
    assert abs(sum(results["mode_frequencies"]["prior_codes"]) - 1) < 1e-6
    for figure in ("samples.png", "trajectories.png", "curvature.png"):
        assert (tmp_path / figure).stat().st_size > 10_000


def test_toy_refuses_checkpoints_of_another_configuration(tmp_path):
    save_checkpoint(tmp_path / "plain.pt", torch.nn.Linear(1, 1), None, step=1, config={"train_steps": 300})
    result = CliRunner().invoke(app, ["toy", "--out", str(tmp_path), *TINY])
    assert result.exit_code == 2
    assert "another configuration" in result.output
