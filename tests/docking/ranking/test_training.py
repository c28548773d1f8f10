"""The pose ranker: learning from pools where a feature tells the right pose, its metrics, and a
model file that carries it into `dock`."""

from __future__ import annotations

import numpy as np
import torch

from disco_dock.docking.bundle import DockingModel
from disco_dock.docking.config import RankerConfig
from disco_dock.docking.data.discover import ComplexSource
from disco_dock.docking.decoys import CRYSTAL_REFINED, DIFFUSION, VINA, ComplexDecoys, DecoyConfig, save_decoys
from disco_dock.docking.ranking.features import FEATURES
from disco_dock.docking.ranking.training import Pool, complex_pool, predict_pools, ranking_metrics, read_pools, train_ranker
from tests.support.complexes import crystal_centre, protein_path

CONSENSUS = FEATURES.index("neighbours_2A")


def synthetic_pools(count: int, seed: int) -> list[Pool]:
    """Pools of 8 poses where the right pose (RMSD 1 A) has the highest consensus but rarely the best score."""
    rng = np.random.default_rng(seed)
    pools = []
    for index in range(count):
        features = rng.normal(size=(8, len(FEATURES)))
        right = rng.integers(8)
        features[:, CONSENSUS] = rng.uniform(0, 0.4, size=8)
        features[right, CONSENSUS] = 0.8
        rmsds = np.full(8, 6.0)
        rmsds[right] = 1.0
        scores = features[:, 0] - 3.0
        pools.append(Pool(f"c{index}", features, rmsds, scores, np.ones(8, dtype=bool)))
    return pools


def test_ranking_metrics_compare_the_ranker_with_the_score_and_the_ceiling():
    (pool,) = synthetic_pools(1, seed=0)
    right = int(np.argmin(pool.rmsds))
    perfect = np.zeros(8)
    perfect[right] = 1.0
    metrics = ranking_metrics([pool], [perfect])
    assert metrics["top1_ranker"] == 1.0 and metrics["best_of_pool"] == 1.0 and metrics["auroc"] == 1.0
    assert metrics["top1_vina_score"] == float(np.argmin(pool.scores) == right)


def test_the_ranker_learns_what_tells_the_right_pose(tmp_path):
    train, val = synthetic_pools(200, seed=1), synthetic_pools(50, seed=2)
    config = RankerConfig(epochs=2, steps_per_epoch=150, batch_size=64)
    ranker, metrics = train_ranker(train, val, config, tmp_path)
    assert metrics["val_top1_ranker"] > 0.9 > metrics["val_top1_vina_score"]
    assert metrics["val_auroc"] > 0.95
    assert (tmp_path / "summary.json").is_file() and (tmp_path / "metrics.jsonl").is_file()
    np.testing.assert_allclose(predict_pools(ranker, val[:1])[0], ranker.probabilities(torch.as_tensor(val[0].features, dtype=torch.float32)).numpy())


def test_a_model_file_carries_its_ranker(tmp_path, model_files):
    model = DockingModel.load(model_files["pocket"])
    assert model.ranker is None  # the tiny models have none
    trained, _ = train_ranker(synthetic_pools(20, 3), synthetic_pools(5, 4), RankerConfig(epochs=1, steps_per_epoch=5), tmp_path)
    model.ranker = trained
    model.save(tmp_path / "with_ranker.pt")
    loaded = DockingModel.load(tmp_path / "with_ranker.pt")
    features = torch.randn(3, len(FEATURES))
    torch.testing.assert_close(loaded.ranker(features), trained(features))


def test_the_listwise_loss_is_the_log_softmax_mass_of_each_pools_right_poses():
    from disco_dock.docking.ranking.training import pool_listwise_loss, candidates_only

    logits = torch.tensor([2.0, 0.0, 1.0, 5.0, 5.0])
    labels = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0])
    pools = torch.tensor([0, 0, 0, 1, 1])  # pool 1 is all right: nothing to learn there
    expected = torch.logsumexp(logits[:3], 0) - 2.0
    torch.testing.assert_close(pool_listwise_loss(logits, labels, pools), expected)
    pool = Pool("c", np.zeros((3, len(FEATURES))), np.array([1.0, 5.0, 0.3]), np.zeros(3), np.array([True, True, False]))
    assert candidates_only(pool).rmsds.tolist() == [1.0, 5.0]


def saved_decoys(folder, sources: tuple[str, ...], seed: int = 0) -> None:
    """Decoys of 5-atom poses around 1ia1's pocket with the given sources, saved in `folder`."""
    rng = np.random.default_rng(seed)
    positions = crystal_centre("1ia1") + rng.normal(size=(len(sources), 5, 3))
    decoys = ComplexDecoys("1ia1", positions, -rng.uniform(5, 9, len(sources)), rng.uniform(0, 6, len(sources)), sources, 1.0)
    folder.mkdir(exist_ok=True)
    save_decoys(decoys, folder, DecoyConfig())


def test_vina_and_diffusion_poses_are_candidates_and_the_crystal_pose_is_not(tmp_path):
    saved_decoys(tmp_path, (VINA, DIFFUSION, CRYSTAL_REFINED))
    pool = complex_pool(tmp_path / "1ia1.npz", protein_path("1ia1"))
    assert pool.candidates.tolist() == [True, True, False]
    assert pool.features.shape == (3, len(FEATURES)) and np.isfinite(pool.features).all()


def test_pools_are_described_once_and_again_when_the_decoys_change(tmp_path):
    sources = {"1ia1": ComplexSource("1ia1", protein_path("1ia1"), "unused")}
    saved_decoys(tmp_path / "decoys", (VINA, VINA))
    (first,) = read_pools([tmp_path / "decoys"], sources, ["1ia1", "absent"], tmp_path / "pools")
    (again,) = read_pools([tmp_path / "decoys"], sources, ["1ia1"], tmp_path / "pools")
    assert np.array_equal(first.features, again.features) and len(first.rmsds) == 2
    saved_decoys(tmp_path / "decoys", (VINA, DIFFUSION, VINA), seed=1)
    (changed,) = read_pools([tmp_path / "decoys"], sources, ["1ia1"], tmp_path / "pools")
    assert len(changed.rmsds) == 3
