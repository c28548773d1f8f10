"""The speed benchmark's tables from a made-up summary, and its settings' checks."""

from __future__ import annotations

import pytest

from disco_dock.benchmark.speed import SpeedConfig, main, speed_markdown


def _summary(vina: bool = True) -> dict:
    """A speed summary as `run_speed` writes it: pocket mode, 1 and 10 samples, two complexes."""
    times = {(1, "a"): 2.0, (1, "b"): 4.0, (10, "a"): 10.0, (10, "b"): 14.0}
    return {
        "machine": {"device": "cpu", "cpu": "Test CPU", "cores": 2, "omp_num_threads": "1", "torch": "2.x"},
        "config": {"steps": 20},
        "complexes": ["a", "b"],
        "predict": {
            "pocket": {
                "model": {"path": "/x/models/disco-dock-pocket.pt"},
                "load_s": 0.5,
                "warmup_s": 3.0,
                "runs": [{"mode": "pocket", "samples": n, "complex": c, "seconds": s} for (n, c), s in times.items()],
                "memory": [
                    {"mode": "pocket", "samples": 1, "max_rss_mib": 600.0, "cuda_max_allocated_mib": None},
                    {"mode": "pocket", "samples": 10, "max_rss_mib": 700.4, "cuda_max_allocated_mib": None},
                ],
            }
        },
        "training": {
            "mode": "pocket", "complexes": 2, "batch_size": 2, "steps": 10, "epoch_seconds": [3.0] + [1.0] * 9,
            "complexes_per_second": 2.0, "seconds_per_step": 1.0, "max_rss_mib": 900.0, "cuda_max_allocated_mib": None,
        },  # fmt: skip
        "vina": {
            "exhaustiveness": 8, "cpu": 1,
            "runs": [
                {"complex": "a", "seconds": 20.0, "top1_rmsd": 1.0, "error": ""},
                {"complex": "b", "seconds": 99.0, "top1_rmsd": None, "error": "RuntimeError: x"},
            ],
        } if vina else None,  # fmt: skip
    }


def test_table_rows_per_mode_and_samples_against_vina():
    table = speed_markdown(_summary())
    assert "| pocket | 1 | 3.00 | 4.00 | 0.15 | 600 | - |" in table  # Vina's mean: its one success, 20 s
    assert "| pocket | 10 | 12.00 | 14.00 | 0.60 | 700 | - |" in table
    assert "| load disco-dock-pocket.pt (pocket) | 0.50 s |" in table
    assert "| Vina (exhaustiveness 8, 1 CPU), mean s per complex | 20.00 s (1 complexes, 1 failed) |" in table
    assert "| score-stage training (pocket, shipped pocket model, batches of 2, 10 steps) | 2.00 complexes/s" in table
    assert "2 complexes (a, b)" in table


def test_stage_table_gives_what_the_physics_stage_adds_to_the_rest():
    summary = _summary()
    stages = {(10, "a"): {"inputs": 1.0, "sampling": 5.0, "physics": 1.5, "ranking": 1.0, "checks": 0.5}, (10, "b"): {"inputs": 1.0, "sampling": 7.0, "physics": 3.0, "ranking": 1.0, "checks": 1.0}}
    for run in summary["predict"]["pocket"]["runs"]:
        run["stages"] = stages.get((run["samples"], run["complex"]))
    table = speed_markdown(summary)
    assert "| mode | samples | inputs (s) | sampling (s) | physics (s) | ranking (s) | checks (s) | physics / the rest |" in table
    assert "| pocket | 10 | 1.00 | 6.00 | 2.25 | 1.00 | 0.75 | 33.3 % |" in table  # 3 s of physics and checks, 12 - 3 = 9 s of the rest
    assert "| pocket | 1 |" not in table.split("physics / the rest")[1]  # runs without stage times have no row


def test_table_without_vina_has_no_ratio():
    table = speed_markdown(_summary(vina=False))
    assert "| pocket | 10 | 12.00 | 14.00 | - | 700 | - |" in table
    assert "Vina (" not in table


@pytest.mark.parametrize("changes", [{"samples": ()}, {"samples": (0, 10)}, {"train_steps": 0}, {"limit": 0}])
def test_bad_settings_are_refused(tmp_path, changes):
    with pytest.raises(ValueError):
        SpeedConfig(out_dir=tmp_path, **changes)


@pytest.mark.parametrize("samples, message", [("0", "error: samples (0,)"), ("1,x", "error: --samples-list '1,x'")])
def test_bad_command_line_is_one_line_and_status_2(tmp_path, capsys, samples, message):
    with pytest.raises(SystemExit) as exited:
        main(["--samples-list", samples, "--out", str(tmp_path)], tmp_path)
    error = capsys.readouterr().err
    assert exited.value.code == 2 and error.startswith(message) and error.count("\n") == 1
