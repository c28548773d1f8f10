"""`disco-dock decoys` on the posebusters 1ia1 complex: labelled Vina poses, the refined crystal
pose and a model's refined samples, resuming, failures listed once, and the command line."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from typer.testing import CliRunner

from disco_dock.cli import app
from disco_dock.docking.config import BLIND, POCKET
from disco_dock.docking.decoys import CRYSTAL_REFINED, DIFFUSION, VINA, DecoyConfig, decoy_path, decoys_model, generate_decoys, load_decoys
from tests.support.complexes import ligand_path, make_complex, protein_path

FAST = DecoyConfig(exhaustiveness=1, num_poses=4, time_cap_s=60)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("decoy-data")
    make_complex(root, "1ia1", protein_path("1ia1"), ligand_path("1ia1"))
    make_complex(root, "broken", "not a protein\n", ligand_path("1ia1"))
    return root


def test_decoys_are_labelled_by_their_rmsd_to_the_crystal_pose(data, tmp_path):
    summary = generate_decoys(data, tmp_path, FAST)
    assert (summary.total, summary.made, list(summary.failures)) == (2, 1, ["broken"])
    decoys = load_decoys(decoy_path(tmp_path, "1ia1"))
    assert decoys.sources[-1] == CRYSTAL_REFINED and set(decoys.sources[:-1]) == {VINA}
    assert decoys.positions.shape == (len(decoys.sources), 19, 3) and np.isfinite(decoys.positions).all()
    assert decoys.rmsds[-1] < 1.0  # the refined crystal pose stays close
    assert (decoys.rmsds >= 0).all() and np.isfinite(decoys.scores).all()
    again = generate_decoys(data, tmp_path, FAST)  # resumes: nothing made, the failure not retried
    assert (again.made, again.done_before, again.failed_before, again.failures) == (0, 1, 1, {})
    with (tmp_path / "failures.csv").open(newline="") as handle:
        assert [row["name"] for row in csv.DictReader(handle)] == ["broken"]


def test_a_models_refined_samples_join_the_pool(data, tmp_path, model_files):
    split = tmp_path / "split.txt"
    split.write_text("1ia1\n")
    generate_decoys(data, tmp_path / "out", FAST.replace(diffusion_samples=2, time_cap_s=600), ids=split, model_file=model_files[POCKET])
    decoys = load_decoys(decoy_path(tmp_path / "out", "1ia1"))
    assert decoys.sources.count(DIFFUSION) == 2 and decoys.sources.count(CRYSTAL_REFINED) == 1
    diffusion = [index for index, source in enumerate(decoys.sources) if source == DIFFUSION]
    assert np.isfinite(decoys.positions[diffusion]).all() and np.isfinite(decoys.scores[diffusion]).all()
    assert (decoys.rmsds[diffusion] >= 0).all()
    assert decoys_model(decoy_path(tmp_path / "out", "1ia1")) is not None
    with pytest.raises(ValueError, match="made with another model"):  # a folder's decoys all come from one model
        generate_decoys(data, tmp_path / "out", FAST, ids=split)
    with pytest.raises(ValueError, match="give a pocket model"):
        generate_decoys(data, tmp_path / "blind", FAST, ids=split, model_file=model_files[BLIND])


def test_the_command_reports_a_missing_split_in_one_line(data, tmp_path):
    split = tmp_path / "split.txt"
    split.write_text("absent\n")
    result = CliRunner().invoke(app, ["decoys", "--data-dir", str(data), "--out", str(tmp_path / "out"), "--ids", str(split)])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "none of its complexes" in result.output


def test_the_command_wants_a_model_for_samples(data, tmp_path):
    result = CliRunner().invoke(app, ["decoys", "--data-dir", str(data), "--out", str(tmp_path / "out"), "--samples", "4"])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "--samples needs --model" in result.output
