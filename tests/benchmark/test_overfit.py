"""The overfit benchmark end to end on two complexes, tiny networks and a budget of two steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from disco_dock.benchmark.overfit import BUCKETS, COMPONENTS, OverfitConfig, load_measured_model, main, measure_model, run_overfit
from disco_dock.docking.data.preprocess import preprocess_dataset
from disco_dock.docking.training import MODEL_FILE, RunPaths, train
from tests.support.complexes import ligand_path, make_complex, protein_path

TINY = {
    "mode": "pocket",
    "pocket": {"radius": 10.0},
    "model": {"ns": 8, "nv": 2, "num_layers": 2, "num_latents": 0, "torsion_axis": "1o + 2e"},
}


def test_overfit_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    for name in ("1ia1", "1s3v"):
        make_complex(tmp_path / "data", name, protein_path(name), ligand_path(name))
    config = OverfitConfig(tmp_path / "out", TINY, steps=2, data_dir=tmp_path / "data", draws=2, samples=2, sampling_steps=2)
    summary = run_overfit(config, log=lambda line: None)
    assert summary["steps"] == 2 and summary["complexes"] == ["1ia1", "1s3v"]
    assert set(summary["loss_ratios"]) == set(COMPONENTS)
    assert all(len(ratios) == len(BUCKETS) and min(ratios) > 0 for ratios in summary["loss_ratios"].values())
    assert [run["complex"] for run in summary["docking"]] == ["1ia1", "1s3v"]
    assert all(run["best_rmsd"] <= run["top1_rmsd"] for run in summary["docking"])
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["settings"]["model"]["torsion_axis"] == "1o + 2e"
    assert "| rotation |" in (tmp_path / "out" / "summary.md").read_text()


def test_a_training_runs_checkpoint_measures_as_its_exported_model(tmp_path: Path) -> None:
    make_complex(tmp_path / "data", "1ia1", protein_path("1ia1"), ligand_path("1ia1"))
    preprocess_dataset(tmp_path / "data", tmp_path / "cache", progress=False)
    split = tmp_path / "split.txt"
    split.write_text("1ia1\n")
    (tmp_path / "config.json").write_text(json.dumps({**TINY, "training": {"epochs": 2, "validation_complexes": 0}}))
    train("score", RunPaths(tmp_path / "cache", split, split, tmp_path / "run"), tmp_path / "config.json", device="cpu")

    def measure(source: str, model: Path) -> dict:
        config = OverfitConfig(tmp_path / f"measured-{source}", cache=tmp_path / "cache", split=split, draws=2, samples=2, sampling_steps=2)
        loaded = load_measured_model(model)
        assert loaded[0].prior is None and loaded[0].confidence is None
        return measure_model(config, *loaded, log=lambda line: None)

    measured = {"run": measure("run", tmp_path / "run"), "file": measure("file", tmp_path / "run" / MODEL_FILE)}
    assert measured["run"]["steps"] == 2 and measured["file"]["steps"] is None
    assert measured["run"]["loss_ratios"] == measured["file"]["loss_ratios"]
    assert "after 2 steps" in (tmp_path / "measured-run" / "summary.md").read_text()


@pytest.mark.parametrize("bad", [{"steps": -1}, {"steps": 2, "cpu_seconds": 5.0}, {"steps": 2, "cache": Path("cache")}])
def test_overfit_needs_one_budget_and_a_whole_data_source(bad: dict) -> None:
    with pytest.raises(ValueError):
        OverfitConfig(Path("out"), **bad)


def test_overfit_without_a_budget_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="budget"):
        run_overfit(OverfitConfig(tmp_path / "out"))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--model", "absent.pt"], "absent.pt: file not found"),
        (["--model", "."], "no score.ckpt"),
        (["--model", "absent.pt", "--steps", "3"], "give no training budget"),
        ([], "give --steps or --cpu-minutes"),
    ],
)
def test_bad_command_lines_are_one_line_and_status_2(tmp_path: Path, capsys, arguments: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["run", *arguments, "--out", str(tmp_path)], tmp_path)
    assert exit_.value.code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert message in line, line
