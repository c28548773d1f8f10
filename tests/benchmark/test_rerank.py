"""Kept poses and reranking: the harness keeps every pose of a record, and recorded pools can be
ranked again by other rankers, beside Vina's score and the best of the pool."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.utils import scatter

from disco_dock.benchmark.config import BenchmarkConfig
from disco_dock.benchmark.harness import poses_file, read_poses, read_records, run_benchmark
from disco_dock.benchmark.methods import MethodOutput
from disco_dock.benchmark.rerank import (
    BEST_OF_POOL, CONSENSUS, VALID_FIRST, VALID_FIRST_NO_WATERS, VINA_SCORE, ConfidenceRanking, RerankSummary,
    load_confidence, load_ranker, main, markdown, pool_picks, rerank_method, summarize_picks, vinardo_scores,
)  # fmt: skip
from disco_dock.docking.bundle import DockingModel
from disco_dock.docking.data.discover import discover_complexes
from disco_dock.docking.data.graph import LIGAND
from disco_dock.docking.data.errors import DataError
from disco_dock.docking.data.ligand import read_ligand
from disco_dock.docking.physics.pdb_lines import atom_positions
from disco_dock.docking.physics.receptor import is_water
from disco_dock.docking.physics.validity import PoseCheck
from disco_dock.docking.ranking.model import PoseRanker
from tests.support.complexes import ligand_path, make_complex, protein_path

OFFSET = np.array([3.0, 0.0, 0.0])
"""The decoy of each fake pool: the crystal pose moved 3 A (RMSD 3 A)."""


def two_pose_pool(complex_) -> MethodOutput:
    """A fake pipeline: a decoy with the better Vina score first, the crystal pose second."""
    crystal = complex_.reference_positions
    details = {"vina_scores": [-9.0, -5.0], "sources": ["vina", "diffusion"]}
    return MethodOutput(np.stack([crystal + OFFSET, crystal]), [0.9, 0.1], details=details)


def two_pose_pool_with_vinardo(complex_) -> MethodOutput:
    """The same pool with Vinardo scores that make the consensus prefer the crystal pose."""
    output = two_pose_pool(complex_)
    return MethodOutput(output.poses, output.scores, details=output.details | {"vinardo_scores": [0.0, -8.0]})


def failing(complex_) -> MethodOutput:
    raise RuntimeError("no pose today")


class WorseScoreIsBetter:
    """A stand-in ranker: probability rises with the Vina score, so it picks the worst-scored pose."""

    needs_scores = True

    def pool_probabilities(self, positions: np.ndarray, scores: np.ndarray, source) -> np.ndarray:
        return scores


@pytest.fixture
def run(tmp_path):
    data = tmp_path / "data"
    for name in ("1ia1", "1of6"):
        make_complex(data, name, protein_path(name), ligand_path(name))
    config = BenchmarkConfig(data_dir=data, out_dir=tmp_path / "out", posebusters=False)
    run_benchmark(config, {"pool": two_pose_pool, "pool-vinardo": two_pose_pool_with_vinardo, "broken": failing}, log=lambda _: None)
    return config


def test_every_pose_of_a_record_is_kept_in_rank_order(run):
    for name, record in read_records(run.out_dir, "pool").items():
        poses = read_poses(run.out_dir, "pool", name)
        assert poses.shape[0] == len(record["rmsds"]) == 2
        assert np.sqrt(((poses[0] - poses[1]) ** 2).sum(-1).mean()) == pytest.approx(3.0, abs=1e-4)
    assert not poses_file(run.out_dir, "broken", "1ia1").exists()
    assert read_poses(run.out_dir, "broken", "1ia1") is None


def test_recorded_pools_are_ranked_again(run):
    sources = {source.name: source for source in discover_complexes(run.data_dir)}
    picks, left_out = rerank_method(run.out_dir, "pool", sources, ["1ia1", "1of6"], {"worst": WorseScoreIsBetter()})
    assert not left_out and [pick.complex for pick in picks] == ["1ia1", "1of6"]
    assert summarize_picks(picks).top1_below_2A == {"worst": 1.0, VINA_SCORE: 0.0, BEST_OF_POOL: 1.0}


def test_the_consensus_uses_recorded_vinardo_scores_or_runs_vinardo_on_the_kept_poses(run):
    sources = {source.name: source for source in discover_complexes(run.data_dir)}
    picks, _ = rerank_method(run.out_dir, "pool-vinardo", sources, ["1ia1", "1of6"], {}, consensus=True)
    assert summarize_picks(picks).top1_below_2A == {VINA_SCORE: 0.0, CONSENSUS: 1.0, BEST_OF_POOL: 1.0}
    record = read_records(run.out_dir, "pool")["1ia1"]
    computed = vinardo_scores(record, read_poses(run.out_dir, "pool", "1ia1"), sources["1ia1"])
    assert np.isfinite(computed).all() and computed[1] < computed[0]  # the crystal pose beats the one moved 3 A
    partly = record | {"vinardo_scores": [None, -8.0]}  # predict rescored only some poses: their scores as recorded
    np.testing.assert_array_equal(vinardo_scores(partly, read_poses(run.out_dir, "pool", "1ia1"), sources["1ia1"]), [np.nan, -8.0])


def test_a_pool_vinardo_cannot_score_is_a_consensus_miss_with_a_warning(run, tmp_path):
    source = next(source for source in discover_complexes(run.data_dir) if source.name == "1ia1")
    broken = dataclasses.replace(source, protein=tmp_path / "gone.pdb")
    record = read_records(run.out_dir, "pool")["1ia1"]
    with pytest.warns(UserWarning, match="1ia1: no Vinardo scores"):
        picks = pool_picks(record, read_poses(run.out_dir, "pool", "1ia1"), broken, {}, consensus=True)
    assert picks.picked_rmsd[CONSENSUS] == float("inf") and picks.picked_rmsd[BEST_OF_POOL] == pytest.approx(0.0, abs=1e-3)


def test_failures_are_misses_and_pools_without_kept_poses_are_left_out(run):
    (failed,) = [record for name, record in read_records(run.out_dir, "broken").items() if name == "1ia1"]
    assert pool_picks(failed, None, None, {"worst": WorseScoreIsBetter()}).picked_rmsd["worst"] == float("inf")
    poses_file(run.out_dir, "pool", "1of6").unlink()
    sources = {source.name: source for source in discover_complexes(run.data_dir)}
    picks, left_out = rerank_method(run.out_dir, "pool", sources, ["1ia1", "1of6"], {})
    assert left_out == ["1of6"] and len(picks) == 1


def test_rerank_script_writes_its_table_and_loads_a_train_ranker_file(run, tmp_path, capsys):
    ranker_file = tmp_path / "ranker.pt"
    torch.save({"config": {"hidden": 8, "layers": 1}, "ranker": PoseRanker(8, 1).state_dict()}, ranker_file)
    assert isinstance(load_ranker(ranker_file).ranker, PoseRanker)
    main(["--results", str(run.out_dir), "--method", "pool", "--data-dir", str(run.data_dir), "--ranker", f"fresh={ranker_file}"])
    written = json.loads((run.out_dir / "rerank-pool.json").read_text())
    assert written["summaries"]["all"]["complexes"] == 2
    assert written["summaries"]["all"]["top1_below_2A"][VINA_SCORE] == 0.0
    assert "top-1 < 2 A by fresh" in capsys.readouterr().out


class NearThePoint(torch.nn.Module):
    """A stand-in confidence model: the logit falls with the ligand centroid's distance from `point`."""

    def __init__(self, point: np.ndarray):
        super().__init__()
        self.point = torch.as_tensor(point, dtype=torch.float32)

    def forward(self, batch) -> torch.Tensor:
        centroids = scatter(batch[LIGAND].pos, batch[LIGAND].batch, dim=0, reduce="mean")
        return -(centroids - self.point.to(centroids)).norm(dim=1)


def test_a_confidence_model_ranks_each_pose_in_the_pocket(run, model_files, tmp_path, capsys):
    """`ConfidenceRanking` scores every pose in the complex's pocket graph: a model that prefers the
    crystal centroid picks the crystal pose, which Vina's score ranks second."""
    sources = {source.name: source for source in discover_complexes(run.data_dir)}
    model = DockingModel.load(model_files["pocket"])
    picks = []
    for name in ("1ia1", "1of6"):
        model.confidence = NearThePoint(read_ligand(sources[name].ligand).positions.mean(axis=0))
        picks += rerank_method(run.out_dir, "pool", sources, [name], {"near": ConfidenceRanking(model)})[0]
    assert summarize_picks(picks).top1_below_2A == {"near": 1.0, VINA_SCORE: 0.0, BEST_OF_POOL: 1.0}
    model.confidence = NearThePoint(read_ligand(sources["1ia1"].ligand).positions.mean(axis=0))
    unscored = read_records(run.out_dir, "pool")["1ia1"] | {"vina_scores": []}  # the learned model alone: no Vina scores
    near = pool_picks(unscored, read_poses(run.out_dir, "pool", "1ia1"), sources["1ia1"], {"near": ConfidenceRanking(model), "worst": WorseScoreIsBetter()})
    assert near.picked_rmsd.keys() == {"near", BEST_OF_POOL} and near.picked_rmsd["near"] == pytest.approx(0.0, abs=1e-3)
    main(["--results", str(run.out_dir), "--method", "pool", "--data-dir", str(run.data_dir), "--confidence", f"e3nn={model_files['pocket']}"])
    assert "top-1 < 2 A by e3nn" in capsys.readouterr().out
    bundle = DockingModel.load(model_files["pocket"])
    bundle.confidence = None
    bundle.save(tmp_path / "no-confidence.pt")
    with pytest.raises(DataError, match="holds no confidence model"):
        load_confidence(tmp_path / "no-confidence.pt")


def test_a_confidence_model_trained_to_correct_vina_ranks_by_its_logit_minus_the_weighted_score(run, model_files):
    """Logits 0 (crystal, Vina -5) and -3 (decoy, Vina -9): logit - w x score picks the crystal
    pose at w = 0.5 and the decoy at w = 1; without Vina's scores, the logit alone picks."""
    source = next(source for source in discover_complexes(run.data_dir) if source.name == "1ia1")
    model = DockingModel.load(model_files["pocket"])
    model.confidence = NearThePoint(read_ligand(source.ligand).positions.mean(axis=0))
    record, poses = read_records(run.out_dir, "pool")["1ia1"], read_poses(run.out_dir, "pool", "1ia1")
    for weight, expected in ((0.5, 0.0), (1.0, 3.0)):
        model.config = model.config.replace(training={"confidence_pool_loss": 1.0, "confidence_vina_weight": weight})
        picks = pool_picks(record, poses, source, {"corrected": ConfidenceRanking(model)})
        assert picks.picked_rmsd["corrected"] == pytest.approx(expected, abs=1e-3)
    unscored = pool_picks(record | {"vina_scores": []}, poses, source, {"corrected": ConfidenceRanking(model)})  # by the confidence alone
    assert unscored.picked_rmsd["corrected"] == pytest.approx(0.0, abs=1e-3)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--method", "nothing"], "no records of method nothing"), (["--method", "pool", "--ranker", "x"], "expected NAME=FILE"),
        (["--method", "pool", "--confidence", f"{VINA_SCORE}=model.pt"], "is taken"),
    ],
)
def test_bad_rerank_input_exits_2_with_one_line(run, capsys, arguments, message):
    with pytest.raises(SystemExit) as exit_:
        main(["--results", str(run.out_dir), "--data-dir", str(run.data_dir), *arguments])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


def test_a_file_without_a_ranker_is_refused(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_text("not torch")
    with pytest.raises(DataError, match="not a ranker or model file"):
        load_ranker(junk)


def test_a_subset_with_no_complex_done_yet_is_a_row_of_dashes():
    table = markdown({"all": summarize_picks([]), "done": RerankSummary(2, {VINA_SCORE: 0.5}), "later": summarize_picks([])})
    assert "| done | 2 | 50.0 % |" in table and "| later | 0 | - |" in table and "| all | 0 | - |" in table


def fails_near_a_water(poses, protein):
    """A stand-in for PoseBusters' checks: a pose fails when an atom lies within 1 A of a water oxygen of `protein`."""
    waters = atom_positions([line for line in Path(protein).read_text().splitlines() if is_water(line)])
    checks = []
    for pose in poses:
        close = bool(len(waters)) and np.linalg.norm(pose.GetConformer().GetPositions()[:, None] - waters[None], axis=-1).min() < 1.0
        checks.append(PoseCheck(not close, ("minimum_distance_to_waters",) if close else ()))
    return checks


def test_valid_first_orders_skip_a_pose_on_a_water_only_when_waters_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr("disco_dock.benchmark.rerank.check_poses", fails_near_a_water)
    data = tmp_path / "data"
    folder = make_complex(data, "1ia1", protein_path("1ia1"), ligand_path("1ia1"))
    x, y, z = read_ligand(ligand_path("1ia1")).positions[0]
    water = f"HETATM99999  O   HOH W 999    {x:8.3f}{y:8.3f}{z:8.3f}  1.00  0.00           O"
    protein = folder / "1ia1_protein.pdb"
    protein.write_text(f"{water}\n{protein.read_text()}")
    config = BenchmarkConfig(data_dir=data, out_dir=tmp_path / "out", posebusters=False)
    run_benchmark(config, {"pool-vinardo": two_pose_pool_with_vinardo}, log=lambda _: None)
    sources = {source.name: source for source in discover_complexes(data)}
    (picks,), _ = rerank_method(config.out_dir, "pool-vinardo", sources, ["1ia1"], {}, consensus=True, validity=True)
    assert picks.picked_rmsd[CONSENSUS] == pytest.approx(0.0, abs=1e-3)  # the crystal pose, on a water
    assert picks.picked_rmsd[VALID_FIRST] == pytest.approx(3.0, abs=1e-3)  # the decoy: the crystal pose fails with the water
    assert picks.picked_rmsd[VALID_FIRST_NO_WATERS] == pytest.approx(0.0, abs=1e-3)


def test_validity_needs_the_consensus(run, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--results", str(run.out_dir), "--data-dir", str(run.data_dir), "--method", "pool", "--validity"])
    assert exit_.value.code == 2 and "--validity needs --consensus" in capsys.readouterr().err
