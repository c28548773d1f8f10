"""End to end: `run_study` on the digits with tiny networks, `disco-dock image sample` on its run
folder, resumption, and the CLI's one-line errors."""

from __future__ import annotations

import dataclasses
import json

import pytest
from PIL import Image
from typer.testing import CliRunner

from disco_dock.cli import app
from disco_dock.image.config import EncoderConfig, EvaluationConfig, ImageConfig, LatentConfig, TrainingConfig, UNetConfig
from disco_dock.image.study import run_study

TINY = ImageConfig(
    latents=LatentConfig(num_latents=2, codebook_size=4, groups=(1, 1), embed_dim=16),
    encoder=EncoderConfig(dim=16, depth=1, heads=2),
    unet=UNetConfig(channels=(16, 32), attention_levels=(0, 1), heads=2, embed_dim=32),
    training=TrainingConfig(steps=20, batch_size=16, prior_steps=10, classifier_steps=30, log_every=10, checkpoint_every=10),
    evaluation=EvaluationConfig(samples=40, sampler_steps=(3, 2)),
)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("image-run")
    return run_dir, run_study(TINY, run_dir)


def test_study_trains_both_models_and_reports_both_distances(tiny_run):
    run_dir, results = tiny_run
    saved = json.loads((run_dir / "results.json").read_text())
    assert set(saved["variants"]) == {"plain", "disco"}
    for scores in saved["variants"].values():
        assert [at["steps"] for at in scores["samples"]] == [3, 2]
        for at in scores["samples"]:
            assert at["frechet_distance"] >= 0
            assert 0 <= at["class_accuracy"] <= 1
    assert saved["images"]["shape"] == [1, 8, 8]
    assert "FD" in results.summary()
    for name in ("samples_plain", "samples_disco", "shared_latent", "mixed_groups"):
        assert (run_dir / "grids" / f"{name}.png").is_file()


def test_rerun_resumes_instead_of_retraining(tiny_run):
    run_dir, first = tiny_run
    again = run_study(TINY, run_dir)
    def distances(results):
        return [at.frechet_distance for at in results.variants["disco"].samples]

    assert distances(again) == pytest.approx(distances(first))
    assert again.variants["disco"].train_seconds < first.variants["disco"].train_seconds


def test_other_evaluation_settings_reuse_the_trained_models(tiny_run):
    run_dir, _ = tiny_run
    fewer = TINY.replace(evaluation=dataclasses.replace(TINY.evaluation, sampler_steps=(2,)))
    results = run_study(fewer, run_dir)
    assert [at.steps for at in results.variants["plain"].samples] == [2]
    run_study(TINY, run_dir)  # leave the folder as the other tests expect it


def test_a_run_folder_of_other_settings_is_refused(tiny_run):
    run_dir, _ = tiny_run
    other = TINY.replace(training=dataclasses.replace(TINY.training, lr=1e-3))
    with pytest.raises(ValueError, match="another configuration"):
        run_study(other, run_dir)


def test_sample_command_writes_grids_of_the_asked_size(tiny_run, tmp_path):
    run_dir, _ = tiny_run
    result = CliRunner().invoke(app, ["image", "sample", "--run", str(run_dir), "--out", str(tmp_path), "--rows", "3", "--columns", "5", "--class", "7"])
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "samples_disco.png") as grid:
        width, height = grid.size
    assert width > height  # 5 columns, 3 rows
    assert (tmp_path / "mixed_groups.png").is_file()


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["image", "train", "--data", "/no/such/images"], "/no/such/images"),
        (["image", "train", "--groups", "2,x"], "--groups"),
        (["image", "sample", "--run", "/no/such/run"], "not an image run folder"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(arguments, message, tmp_path):
    result = CliRunner().invoke(app, arguments + (["--out", str(tmp_path / "out")] if arguments[1] == "train" else []))
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_sample_refuses_a_class_the_run_does_not_have(tiny_run):
    run_dir, _ = tiny_run
    result = CliRunner().invoke(app, ["image", "sample", "--run", str(run_dir), "--class", "12"])
    assert result.exit_code == 2
    assert "out of range" in result.output
