"""Training the pose ranker on labelled decoys (`docking.decoys`), and measuring how it ranks.

Each complex's pool is its candidate poses (Vina's search poses, and the model's refined samples
where the decoys have them); its refined crystal pose can be one more positive
(`RankerConfig.crystal_positives`), described against that pool without joining it (so that no
pose gains a neighbour at test time that it would not have). The ranker learns "RMSD < 2 A" with binary cross-entropy through the
project's one training loop (`core.fit`, minibatches drawn from the global generator). On the
validation complexes it is judged the way it will be used: pick the top pose of the pool, and
compare with picking by Vina's score and with the best pose of the pool (the ceiling).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from disco_dock.core.distributed import Processes
from disco_dock.core.fit import FitSettings, StepIndices, Task, fit
from disco_dock.core.training import progress, seed_everything
from disco_dock.docking.config import RankerConfig
from disco_dock.docking.data.discover import ComplexSource
from disco_dock.docking.data.protein import read_heavy_atoms
from disco_dock.docking.decoys import CANDIDATE_SOURCES, load_decoys
from disco_dock.docking.ranking.features import pool_features, pose_features, protein_tree
from disco_dock.docking.ranking.model import PoseRanker

SUCCESS_RMSD = 2.0


@dataclass(frozen=True)
class Pool:
    """One complex's described poses: features (P, F), RMSDs (P,), Vina scores (P,) and which
    poses are candidates (`decoys.CANDIDATE_SOURCES`: the pool a ranker picks from)."""

    name: str
    features: np.ndarray
    rmsds: np.ndarray
    scores: np.ndarray
    candidates: np.ndarray


def complex_pool(decoy_file: Path, protein: Path) -> Pool:
    """The described poses of one complex's decoy file against its protein."""
    decoys = load_decoys(decoy_file)
    candidates = np.array([source in CANDIDATE_SOURCES for source in decoys.sources])
    if not candidates.any():
        raise ValueError(f"{decoy_file}: no candidate poses")
    tree = protein_tree(read_heavy_atoms(protein))
    pool, scores = decoys.positions[candidates].astype(np.float64), decoys.scores[candidates]
    described = pool_features(pool, scores, tree)
    features = np.zeros((len(candidates), described.shape[1]))
    features[candidates] = described
    if (~candidates).any():
        others = decoys.positions[~candidates].astype(np.float64)
        features[~candidates] = pose_features(others, decoys.scores[~candidates], pool, scores, tree, same=False)
    return Pool(decoys.name, features, decoys.rmsds.astype(np.float64), decoys.scores.astype(np.float64), candidates)


def read_pools(decoy_dirs: list[Path], sources: dict[str, ComplexSource], names: list[str], cache: Path) -> list[Pool]:
    """The pools of the named complexes that have decoys, described once into `cache/<name>.npz`
    (described again when the decoy file has changed since)."""
    files = {path.stem: path for folder in decoy_dirs for path in folder.glob("*.npz")}
    cache.mkdir(parents=True, exist_ok=True)
    pools = []
    for name in progress([name for name in names if name in files and name in sources], desc="pools"):
        stored, stamp = cache / f"{name}.npz", _file_stamp(files[name])
        if not _described(stored, stamp):
            pool = complex_pool(files[name], sources[name].protein)
            np.savez(stored, decoy_file=stamp, **{key: value for key, value in asdict(pool).items() if key != "name"})
        with np.load(stored) as values:
            pools.append(Pool(name, values["features"], values["rmsds"], values["scores"], values["candidates"]))
    return pools


def _described(stored: Path, stamp: np.ndarray) -> bool:
    """Whether `stored` describes the decoy file with `stamp` (`_file_stamp`)."""
    if not stored.is_file():
        return False
    with np.load(stored) as values:
        return "decoy_file" in values.files and np.array_equal(values["decoy_file"], stamp)


def _file_stamp(path: Path) -> np.ndarray:
    """A file's size and modification time (ns): what tells a changed decoy file."""
    status = path.stat()
    return np.array([status.st_size, status.st_mtime_ns], dtype=np.int64)


def ranking_metrics(pools: list[Pool], probabilities: list[np.ndarray]) -> dict[str, float]:
    """On the candidate pool of each complex: the fraction whose top pose is under 2 A when picked by
    the ranker, by Vina's score, and at best (any pose), and the ranker's AUROC over the poses."""
    picked, by_score, best, positives, negatives = [], [], [], [], []
    for pool, probability in zip(pools, probabilities):
        success = pool.rmsds[pool.candidates] < SUCCESS_RMSD
        ranked = probability[pool.candidates]
        picked.append(success[np.argmax(ranked)])
        by_score.append(success[np.argmin(pool.scores[pool.candidates])])
        best.append(success.any())
        positives += ranked[success].tolist()
        negatives += ranked[~success].tolist()
    pos, neg = np.array(positives)[:, None], np.array(negatives)[None]
    auroc = float(((pos > neg) + 0.5 * (pos == neg)).mean()) if pos.size and neg.size else math.nan
    return {
        "top1_ranker": float(np.mean(picked)), "top1_vina_score": float(np.mean(by_score)),
        "best_of_pool": float(np.mean(best)), "auroc": auroc, "complexes": float(len(pools)),
    }  # fmt: skip


def predict_pools(ranker: PoseRanker, pools: list[Pool]) -> list[np.ndarray]:
    """The ranker's probabilities for every pose of every pool."""
    ranker.eval()
    return [ranker.probabilities(torch.as_tensor(pool.features, dtype=torch.float32)).numpy() for pool in pools]


def candidates_only(pool: Pool) -> Pool:
    """The pool without the poses that are not candidates (the refined crystal pose)."""
    keep = pool.candidates
    return Pool(pool.name, pool.features[keep], pool.rmsds[keep], pool.scores[keep], pool.candidates[keep])


def pool_listwise_loss(logits: torch.Tensor, labels: torch.Tensor, pools: torch.Tensor) -> torch.Tensor:
    """Mean over the pools with a right pose of -log(the softmax mass of the pool's right poses):
    what picking one pose per pool rewards (pools with no right pose are left out)."""
    losses = []
    for pool in pools.unique():
        members = pools == pool
        right = labels[members] > 0
        if right.any() and not right.all():
            pool_logits = logits[members]
            losses.append(torch.logsumexp(pool_logits, 0) - torch.logsumexp(pool_logits[right], 0))
    return torch.stack(losses).mean() if losses else logits.sum() * 0


def train_ranker(train: list[Pool], val: list[Pool], config: RankerConfig, run_dir: Path) -> tuple[PoseRanker, dict]:
    """Train a ranker on the training pools (every described pose); its validation metrics are
    logged to `run_dir/metrics.jsonl` after each epoch and returned for the final model."""
    seed_everything(config.seed)
    if not config.crystal_positives:
        train = [candidates_only(pool) for pool in train]
    features = torch.as_tensor(np.concatenate([pool.features for pool in train]), dtype=torch.float32)
    labels = torch.as_tensor(np.concatenate([pool.rmsds for pool in train]) < SUCCESS_RMSD, dtype=torch.float32)
    pool_index = torch.cat([torch.full((len(pool.rmsds),), index) for index, pool in enumerate(train)])
    ranker = PoseRanker(config.hidden, config.layers)
    ranker.fit_scaling(features)
    loss_fn = nn.BCEWithLogitsLoss()

    def loss(step: int) -> torch.Tensor:
        batch = torch.randint(len(features), (config.batch_size,))
        pointwise = loss_fn(ranker(features[batch]), labels[batch])
        if config.listwise_weight == 0:
            return pointwise
        pools = torch.randint(len(train), (config.pools_per_step,))
        chosen = torch.isin(pool_index, pools)
        listwise = pool_listwise_loss(ranker(features[chosen]), labels[chosen], pool_index[chosen])
        return pointwise + config.listwise_weight * listwise

    def validate(model: nn.Module) -> dict[str, float]:
        return {f"val_{key}": value for key, value in ranking_metrics(val, predict_pools(model, val)).items()}

    settings = FitSettings(lr=config.lr, epochs=config.epochs, weight_decay=config.weight_decay, seed=config.seed)
    task = Task(
        "ranker", ranker, StepIndices(config.steps_per_epoch), run_dir / "ranker.ckpt", settings,
        loss=loss, config=config.to_dict(), validate=validate, metrics=run_dir / "metrics.jsonl",
    )  # fmt: skip
    trained = fit(task, Processes(0, 1, torch.device("cpu")))
    metrics = validate(trained)
    (run_dir / "summary.json").write_text(json.dumps({"config": config.to_dict(), "train_poses": len(labels),
        "train_positive_fraction": float(labels.mean()), "train_complexes": len(train), **metrics}, indent=2) + "\n")  # fmt: skip
    return trained, metrics


def train_ranker_run(
    decoy_dirs: list[Path], data_dirs: list[Path], train_split: Path, val_split: Path, run_dir: Path,
    config: RankerConfig = RankerConfig(), model_file: Path | None = None,
) -> dict:
    """Describe the decoys of both splits (`run_dir/pools/`), train a ranker, write it to
    `run_dir/ranker.pt` and, with `model_file`, into that model bundle; the validation metrics."""
    from disco_dock.docking.bundle import DockingModel
    from disco_dock.docking.data.discover import discover_complexes, read_ids

    sources = {source.name: source for folder in data_dirs for source in discover_complexes(folder)}
    train = read_pools(decoy_dirs, sources, read_ids(train_split), run_dir / "pools")
    val = read_pools(decoy_dirs, sources, read_ids(val_split), run_dir / "pools")
    if not train or not val:
        raise ValueError(f"no decoys of the {'training' if not train else 'validation'} complexes in {', '.join(map(str, decoy_dirs))}")
    ranker, metrics = train_ranker(train, val, config, run_dir)
    torch.save({"config": config.to_dict(), "ranker": ranker.state_dict()}, run_dir / "ranker.pt")
    if model_file is not None:
        model = DockingModel.load(model_file)
        model.config = model.config.replace(ranker=config)
        model.ranker = ranker
        model.save(model_file)
    return metrics
