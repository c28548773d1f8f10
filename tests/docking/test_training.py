"""Training stages on tiny networks and two real complexes: losses fall, runs resume exactly,
every stage writes its part of model.pt, DDP runs on two CPU processes, the CLI rejects bad input."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch
from typer.testing import CliRunner

from disco_dock.cli import app
from disco_dock.core.training import seed_everything
from disco_dock.docking.bundle import DockingModel
from disco_dock.docking.data import ComplexDataset
from disco_dock.docking.data.graph import LIGAND
from disco_dock.docking.decoys import ComplexDecoys, DecoyConfig, decoy_path, load_decoys, save_decoys
from disco_dock.docking.diffusion.noising import noise_batch as objectives_noise
from disco_dock.docking.diffusion.noising import score_matching_loss
from disco_dock.docking.training import (
    METRICS_FILE,
    MODEL_FILE,
    POSES_DIR,
    ConfidenceObjective,
    RunPaths,
    ScoreObjective,
    TrainingError,
    objectives,
    read_config_file,
    train,
)
from disco_dock.docking.training.confidence_poses import poses_from_decoys

TINY_MODEL = {"ns": 8, "nv": 2, "num_layers": 2, "encoder_layers": 1}
TINY_TRAINING = {
    "batch_size": 1, "epochs": 2, "validation_complexes": 0, "validation_samples": 2, "prior_epochs": 2,
    "prior_frozen_epochs": 1, "confidence_epochs": 2, "confidence_samples": 2,
}  # fmt: skip
TRAIN, VAL = ("1ia1", "1s3v"), ("1of6",)


def tiny_config(folder: Path, mode: str = "blind", model: dict | None = None, **training: object) -> Path:
    """A JSON config file of tiny networks (with `model` and `training` changes) in `folder`."""
    path = folder / "config.json.in"
    path.write_text(json.dumps({"mode": mode, "model": {**TINY_MODEL, **(model or {})}, "training": {**TINY_TRAINING, **training}}))
    return path


@pytest.fixture(scope="module")
def splits(posebusters_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Split files: two training complexes, one validation complex."""
    folder = tmp_path_factory.mktemp("splits")
    (folder / "train.txt").write_text("\n".join(TRAIN) + "\n")
    (folder / "val.txt").write_text("\n".join(VAL) + "\n")
    return {"cache": posebusters_cache, "train": folder / "train.txt", "val": folder / "val.txt"}


def run_paths(splits: dict[str, Path], run_dir: Path, init_from: Path | None = None) -> RunPaths:
    return RunPaths(splits["cache"], splits["train"], splits["val"], run_dir, init_from)


def metrics(run_dir: Path, stage: str) -> list[dict]:
    """The per-epoch records of `stage` in a run's metrics log."""
    lines = (run_dir / METRICS_FILE).read_text().splitlines()
    return [record for record in map(json.loads, lines) if record["stage"] == stage]


@pytest.fixture(scope="module")
def score_run(splits: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished stage-1 run (with latents and validation) that the later stages start from."""
    run_dir = tmp_path_factory.mktemp("score_run")
    config = tiny_config(run_dir, validation_complexes=1, epochs=2)
    train("score", run_paths(splits, run_dir), config)
    return run_dir


def test_score_stage_exports_model_and_validates_with_oracle_and_null_latents(score_run: Path):
    model = DockingModel.load(score_run / MODEL_FILE)
    assert set(model.networks()) == {"score", "encoder"}
    [first, last] = metrics(score_run, "score")
    assert {"loss", "translation", "rotation", "torsion"} <= first.keys()
    for label in ("oracle-latent", "null-latent"):
        assert 0.0 <= last[f"val_{label}_top1_2A"] <= 1.0 and last[f"val_{label}_top1_median_rmsd"] > 0


def fixed_noise(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make stage 1 noise each complex the same way every time (t = 0.5, a seed per ligand size)."""
    noise_batch = objectives.noise_batch

    def fixed(batch, schedules):
        return noise_batch(batch, schedules, t=0.5, generator=torch.Generator().manual_seed(batch["ligand"].num_nodes))

    monkeypatch.setattr(objectives, "noise_batch", fixed)


def mean_loss(objective: ScoreObjective, graphs: list) -> float:
    """The stage-1 loss of each complex alone, averaged over 4 latent draws each with a fixed seed."""
    seed_everything(123)
    with torch.no_grad():
        return float(torch.stack([objective(Batch.from_data_list([graph]))[0] for graph in graphs for _ in range(4)]).mean())


def test_score_training_lowers_the_loss_on_fixed_noise(splits: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    fixed_noise(monkeypatch)
    config_file = tiny_config(tmp_path, epochs=20, ema_decay=0.0, lr=3e-3)  # 40 steps
    config = read_config_file(config_file)
    seed_everything(config.training.seed)  # what `train` does before building the networks
    start = DockingModel.build(config)
    train("score", run_paths(splits, tmp_path / "run"), config_file)
    trained = DockingModel.load(tmp_path / "run" / MODEL_FILE)
    graphs = list(ComplexDataset(splits["cache"], names=list(TRAIN)))
    before = mean_loss(ScoreObjective(start.score, start.encoder, config).eval(), graphs)
    after = mean_loss(ScoreObjective(trained.score, trained.encoder, config).eval(), graphs)
    assert after < 0.5 * before


def test_interrupted_pocket_run_resumes_exactly(splits: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_thread):
    config_file = tiny_config(tmp_path, epochs=3, ema_decay=0.5, mode="pocket")
    train("score", run_paths(splits, tmp_path / "whole"), config_file)

    forward = ScoreObjective.forward
    calls = {"count": 0}

    def interrupted(self, batch):
        calls["count"] += 1
        if calls["count"] == 4:  # the second batch of the second epoch
            raise KeyboardInterrupt
        return forward(self, batch)

    monkeypatch.setattr(ScoreObjective, "forward", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train("score", run_paths(splits, tmp_path / "parts"), config_file)
    monkeypatch.setattr(ScoreObjective, "forward", forward)
    train("score", run_paths(splits, tmp_path / "parts"), config_file)

    whole = torch.load(tmp_path / "whole" / "score.ckpt", weights_only=False)
    parts = torch.load(tmp_path / "parts" / "score.ckpt", weights_only=False)
    for key in ("model", "ema"):
        assert whole[key].keys() == parts[key].keys()
        for name, value in whole[key].items():
            assert torch.equal(value, parts[key][name]), f"{key}.{name}"
    assert [record["loss"] for record in metrics(tmp_path / "whole", "score")] == [
        record["loss"] for record in metrics(tmp_path / "parts", "score")
    ]


def test_plain_diffdock_without_latents_trains(splits: dict[str, Path], tmp_path: Path):
    train("score", run_paths(splits, tmp_path / "run"), tiny_config(tmp_path, model={"num_latents": 0}, validation_complexes=1))
    assert set(DockingModel.load(tmp_path / "run" / MODEL_FILE).networks()) == {"score"}
    last = metrics(tmp_path / "run", "score")[-1]
    assert torch.isfinite(torch.tensor(last["loss"])) and "val_plain_top1_2A" in last


def test_prior_stage_lowers_its_loss(splits: dict[str, Path], score_run: Path, tmp_path: Path):
    model = DockingModel.load(score_run / MODEL_FILE)
    with torch.no_grad():  # a decided encoder (a briefly trained one is near uniform: nothing to learn)
        for head in (model.encoder.ligand_logits, model.encoder.receptor_logits):
            head[-1].weight *= 30
    model.save(tmp_path / "decided" / MODEL_FILE)
    run_dir = tmp_path / "run"
    config = tiny_config(tmp_path, prior_epochs=12, prior_frozen_epochs=2, lr=1e-2, validation_complexes=1)
    train("prior", run_paths(splits, run_dir, init_from=tmp_path / "decided"), config)
    losses = [record["nll"] for record in metrics(run_dir, "prior")]
    assert len(losses) == 12 and sum(losses[-3:]) < 0.9 * sum(losses[:3])
    last = metrics(run_dir, "prior")[-1]
    assert last["val_target_entropy"] < last["val_nll"] < last["val_uniform_nll"]
    assert set(DockingModel.load(run_dir / MODEL_FILE).networks()) == {"score", "encoder", "prior"}


def test_confidence_stage_runs_end_to_end(splits: dict[str, Path], score_run: Path, tmp_path: Path):
    run_dir = tmp_path / "run"
    config = tiny_config(tmp_path, validation_complexes=1)
    train("prior", run_paths(splits, run_dir, init_from=score_run), config)
    train("confidence", run_paths(splits, run_dir), config)
    assert set(DockingModel.load(run_dir / MODEL_FILE).networks()) == {"score", "encoder", "prior", "confidence"}
    assert sorted(path.stem for path in (run_dir / POSES_DIR / "train").iterdir()) == sorted(TRAIN)
    poses = torch.load(run_dir / POSES_DIR / "train" / "1ia1.pt", weights_only=True)
    assert poses["pos"].shape[0] == poses["rmsd"].shape[0] == 2
    last = metrics(run_dir, "confidence")[-1]
    assert {"bce", "val_accuracy", "val_auroc", "val_top1_2A"} <= last.keys()


def fake_decoys(cache: Path, folder: Path, vina_poses: dict[str, int], reversed_atoms: bool = False) -> Path:
    """Decoy files of the named complexes: the "crystal-refined" pose (the crystal pose), then
    `vina_poses[name]` "vina" poses and two "diffusion" poses, each shifted by 0.5 A more than the
    last and scored the lower the farther it is; `reversed_atoms`: in reversed atom order."""
    folder.mkdir()
    for graph in ComplexDataset(cache, names=list(vina_poses)):
        sources = ["crystal-refined"] + ["vina"] * vina_poses[graph.name] + ["diffusion", "diffusion"]
        shifts = 0.5 * np.arange(len(sources), dtype=np.float32)
        crystal = graph[LIGAND].crystal_pos.numpy().astype(np.float32)
        positions = crystal[None] + shifts[:, None, None]
        decoys = ComplexDecoys(
            graph.name, positions[:, ::-1].copy() if reversed_atoms else positions, -shifts, shifts.copy(), tuple(sources), 1.0,
        )  # fmt: skip
        save_decoys(decoys, folder, DecoyConfig())
    return folder


def test_confidence_stage_learns_from_decoys(splits: dict[str, Path], score_run: Path, tmp_path: Path):
    """With --decoys the confidence model trains on the decoys' pools (of different sizes), with the
    refined crystal pose, and validates on the candidates, against Vina's score."""
    decoys = fake_decoys(splits["cache"], tmp_path / "decoys", {"1ia1": 2, "1s3v": 5, "1of6": 3})
    run_dir = tmp_path / "run"
    paths = RunPaths(splits["cache"], splits["train"], splits["val"], run_dir, score_run, (decoys,))
    train("confidence", paths, tiny_config(tmp_path, validation_complexes=1, confidence_epochs=1))
    assert "confidence" in DockingModel.load(run_dir / MODEL_FILE).networks()
    counts = {path.stem: len(torch.load(path, weights_only=True)["rmsd"]) for path in (run_dir / POSES_DIR).glob("*-decoys/*.pt")}
    assert counts == {"1ia1": 5, "1s3v": 8, "1of6": 5}  # training pools keep the refined crystal pose
    last = metrics(run_dir, "confidence")[-1]
    assert last["val_vina_top1_2A"] == 0.0 and last["val_best_2A"] == 1.0  # Vina's best here is the farthest pose
    with pytest.raises(TrainingError, match="poses from other decoys or settings"):
        poses_from_decoys(ComplexDataset(splits["cache"], names=list(TRAIN)), 2, [decoys], run_dir / POSES_DIR / "train-decoys",
                          read_config_file(run_dir / "config.json", stored=True), crystal_refined=False)  # fmt: skip


def test_a_limit_on_the_confidence_complexes_is_announced(splits: dict[str, Path], score_run: Path, tmp_path: Path):
    decoys = fake_decoys(splits["cache"], tmp_path / "decoys", {"1ia1": 2, "1s3v": 5, "1of6": 3})
    paths = RunPaths(splits["cache"], splits["train"], splits["val"], tmp_path / "run", score_run, (decoys,))
    with pytest.warns(UserWarning, match=f"first 1 of the {len(TRAIN)} training complexes"):
        train("confidence", paths, tiny_config(tmp_path, validation_complexes=1, confidence_epochs=1, confidence_complexes=1))


def test_the_pool_loss_trains_a_pool_per_step_and_reports_the_vina_corrected_ranking(splits: dict[str, Path], score_run: Path, tmp_path: Path):
    decoys = fake_decoys(splits["cache"], tmp_path / "decoys", {"1ia1": 2, "1s3v": 5, "1of6": 3})
    run_dir = tmp_path / "run"
    paths = RunPaths(splits["cache"], splits["train"], splits["val"], run_dir, score_run, (decoys,))
    config = tiny_config(tmp_path, validation_complexes=1, confidence_epochs=1, confidence_pool_loss=1.0, confidence_vina_weight=0.5,
                         confidence_trunk_from_score=True)  # fmt: skip
    train("confidence", paths, config)
    last = metrics(run_dir, "confidence")[-1]
    assert {"bce", "listwise", "val_ranking_top1_2A"} <= last.keys() and last["listwise"] > 0
    assert last["step"] == len(TRAIN)  # one step per training pool
    stored = DockingModel.load(run_dir / MODEL_FILE).config.training  # how the bundle's confidence model ranks
    assert (stored.confidence_pool_loss, stored.confidence_vina_weight, stored.confidence_trunk_from_score) == (1.0, 0.5, True)
    with pytest.raises(TrainingError, match="give --decoys"):
        train("confidence", run_paths(splits, tmp_path / "other", init_from=score_run), config)


def test_the_listwise_term_is_the_softmax_cross_entropy_of_the_pool_successes():
    class GivenLogits(torch.nn.Module):
        def forward(self, batch):
            return batch.logits

    pool = SimpleNamespace(logits=torch.tensor([0.5, 2.0, -1.0]), vina_score=torch.tensor([-7.0, -9.0, -5.0]), success=torch.tensor([1.0, 0.0, 1.0]))
    loss, terms = ConfidenceObjective(GivenLogits(), pool_loss=2.0, vina_weight=0.5)(pool)
    ranking = torch.tensor([4.0, 6.5, 1.5])  # logit - 0.5 x Vina's score
    listwise = torch.logsumexp(ranking, 0) - torch.logsumexp(ranking[[0, 2]], 0)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(pool.logits, pool.success)
    assert torch.allclose(terms["listwise"], listwise) and torch.allclose(loss, bce + 2.0 * listwise)
    alone, terms = ConfidenceObjective(GivenLogits())(pool)
    assert torch.allclose(alone, bce) and "listwise" not in terms
    pool.success = torch.zeros(3)  # no right pose: nothing to rank first, the BCE alone
    loss, terms = ConfidenceObjective(GivenLogits(), pool_loss=2.0, vina_weight=0.5)(pool)
    assert terms["listwise"] == 0 and torch.allclose(loss, torch.nn.functional.binary_cross_entropy_with_logits(pool.logits, pool.success))


def test_decoys_in_another_atom_order_are_left_out_with_a_warning(splits: dict[str, Path], tmp_path: Path):
    decoys = fake_decoys(splits["cache"], tmp_path / "decoys", {"1ia1": 2}, reversed_atoms=True)
    config = read_config_file(tiny_config(tmp_path, mode="pocket"))
    with pytest.warns(UserWarning, match="1ia1 \\(atoms differ from the cache's\\)"):
        poses_from_decoys(ComplexDataset(splits["cache"], names=["1ia1"]), 1, [decoys], tmp_path / "poses", config, crystal_refined=True)
    assert not list((tmp_path / "poses").glob("*.pt"))


def test_decoys_far_from_the_crystal_pose_are_kept_and_poses_with_a_broken_bond_left_out(splits: dict[str, Path], tmp_path: Path):
    """The atom order is judged by the bonds: a refined crystal pose 3 A away (Vina's minimum off
    the crystal pose) keeps the complex; a pose with a stretched bond is left out on its own."""
    decoys = fake_decoys(splits["cache"], tmp_path / "decoys", {"1ia1": 2})
    stored = load_decoys(decoy_path(decoys, "1ia1"))
    positions = stored.positions + np.float32(3.0)
    positions[1, 0] += 2.0  # the first Vina pose: its first atom pulled 2 A off its bonds
    save_decoys(dataclasses.replace(stored, positions=positions), decoys, DecoyConfig())
    config = read_config_file(tiny_config(tmp_path, mode="pocket"))
    with pytest.warns(UserWarning, match="bond stretched or shrunk by over 0.75 A left out: 1ia1 \\(1 of 5\\)"):
        poses_from_decoys(ComplexDataset(splits["cache"], names=["1ia1"]), 1, [decoys], tmp_path / "poses", config, crystal_refined=True)
    kept = torch.load(tmp_path / "poses" / "1ia1.pt", weights_only=True)["rmsd"]
    assert torch.equal(kept, torch.from_numpy(np.delete(stored.rmsds, 1)))


@pytest.mark.slow
def test_two_processes_train_with_ddp_on_cpu(splits: dict[str, Path], tmp_path: Path):
    run_dir = tmp_path / "run"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "disco_dock.cli", "train", "score", "--cache", str(splits["cache"]), "--train-split", str(splits["train"]),
        "--val-split", str(splits["val"]), "--out", str(run_dir), "--config", str(tiny_config(tmp_path, epochs=1)), "--device", "cpu",
    ]  # fmt: skip
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=environment)
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(metrics(run_dir, "score")) == 1 and (run_dir / MODEL_FILE).is_file()


def cli(*args: object):
    return CliRunner().invoke(app, ["train", *map(str, args)])


def test_cli_rejects_a_missing_cache_and_an_empty_split(splits: dict[str, Path], tmp_path: Path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    common = ["--val-split", splits["val"], "--out", tmp_path / "run"]
    for cache, split, message in (
        (tmp_path / "nowhere", splits["train"], "cache folder not found"),
        (splits["cache"], empty, "none of its complexes is in the cache"),
    ):
        result = cli("score", "--cache", cache, "--train-split", split, *common)
        assert result.exit_code == 2
        [line] = result.stderr.strip().splitlines()
        assert line.startswith("error: ") and message in line
    result = cli("dance", "--cache", splits["cache"], "--train-split", splits["train"], *common)
    assert result.exit_code == 2 and "unknown stage" in result.stderr
    for stage, decoys, message in (("confidence", tmp_path / "nowhere", "no such folder"), ("score", tmp_path, "for the confidence stage")):
        result = cli(stage, "--cache", splits["cache"], "--train-split", splits["train"], *common, "--decoys", decoys)
        assert result.exit_code == 2 and message in result.stderr.strip().splitlines()[-1]


def test_noise_draws_average_the_loss_over_several_noisy_poses(splits: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """With `noise_draws` 3 the score model sees each batch three times, with different noise; the loss is their mean."""
    config = read_config_file(tiny_config(tmp_path, model={"num_latents": 0}, noise_draws=3))
    model = DockingModel.build(config)
    draws = []
    monkeypatch.setattr(objectives, "noise_batch", lambda batch, schedules: draws.append(objectives_noise(batch, schedules)) or draws[-1])
    objective = ScoreObjective(model.score, None, config)
    loss, parts = objective(Batch.from_data_list(list(ComplexDataset(splits["cache"], names=list(TRAIN)))))
    assert len(draws) == 3 and len(torch.cat([noised.t for _, noised in draws]).unique()) == 6
    with torch.no_grad():
        losses = [
            score_matching_loss(*model.score(batch, n.sigma_tr, n.sigma_rot, n.sigma_tor), n, config.training.loss_weights)[0]
            for batch, n in draws
        ]
    torch.testing.assert_close(loss, torch.stack(losses).mean())
    assert set(parts) == {"translation", "rotation", "torsion"}


def test_a_training_pocket_far_from_every_residue_keeps_the_nearest_ones(posebusters_cache: Path):
    from disco_dock.docking.data.graph import RECEPTOR
    from disco_dock.docking.training.views import POCKET_MARGIN, training_radius

    graph = ComplexDataset(posebusters_cache, names=["1ia1"])[0]
    centre = graph[RECEPTOR].pos.max(dim=0).values + 30.0  # beyond the protein
    nearest = float((graph[RECEPTOR].pos - centre).norm(dim=1).min())
    assert training_radius(graph, centre, 12.0) == pytest.approx(nearest + POCKET_MARGIN)
    assert training_radius(graph, graph[RECEPTOR].pos[0], 12.0) == 12.0
