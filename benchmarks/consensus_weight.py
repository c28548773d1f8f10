"""Fit the weight of the Vina + Vinardo consensus ranking (`PhysicsConfig.consensus_weight`) on the
pose ranker's decoys, and measure it against Vina's score alone.

For every complex with decoys (`models/training/decoys`: training and validation complexes only),
Vinardo scores each candidate pose (Vina's search poses and the refined diffusion samples; cached
per complex in `--cache`), and the pool's top-1 < 2 A is counted when ranked by Vina's score, by
Vinardo's, and by Vina + w x Vinardo for each weight w. A 5-fold split by complex then fits w on
four folds (the weight with the best top-1 there) and measures it on the fifth. Prints the table
and writes `--out`.json/.md. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from disco_dock.benchmark.cli import fail
from disco_dock.core.training import progress
from disco_dock.docking.config import PhysicsConfig
from disco_dock.docking.data.discover import discover_complexes, read_ids
from disco_dock.docking.data.errors import DataError
from disco_dock.docking.data.ligand import read_ligand
from disco_dock.docking.decoys import CANDIDATE_SOURCES, load_decoys
from disco_dock.docking.physics.ligand import with_positions
from disco_dock.docking.physics.pocket import VINARDO
from disco_dock.docking.physics.refinement import rescored
from disco_dock.docking.ranking.training import SUCCESS_RMSD

WEIGHTS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
FOLDS = 5


def scored_pool(decoy_file: Path, source, cache: Path) -> dict[str, np.ndarray]:
    """One complex's candidate poses: Vina and Vinardo scores and RMSDs (Vinardo cached in `cache`)."""
    decoys = load_decoys(decoy_file)
    candidates = np.array([name in CANDIDATE_SOURCES for name in decoys.sources])
    stored = cache / decoy_file.name
    if stored.is_file():
        vinardo = np.load(stored)["vinardo"]
    else:
        ligand = read_ligand(source.ligand, source.ligand_fallback).mol
        poses = [with_positions(ligand, pose.astype(np.float64)) for pose in decoys.positions[candidates]]
        vinardo = np.array(rescored(source.protein, poses, VINARDO))
        np.savez(stored, vinardo=vinardo)
    return {"vina": decoys.scores[candidates], "vinardo": vinardo, "rmsds": decoys.rmsds[candidates]}


def top1(pools: list[dict[str, np.ndarray]], weight: float | None) -> float:
    """Fraction of pools whose lowest Vina + `weight` x Vinardo (None: Vinardo alone) is under 2 A."""
    picks = []
    for pool in pools:
        key = pool["vinardo"] if weight is None else pool["vina"] + weight * pool["vinardo"]
        picks.append(pool["rmsds"][np.argmin(key)] < SUCCESS_RMSD)
    return float(np.mean(picks)) if picks else float("nan")


def auroc(pools: list[dict[str, np.ndarray]], weight: float) -> float:
    """AUROC of -(Vina + `weight` x Vinardo) for "under 2 A" over every candidate pose of the pools."""
    keys = np.concatenate([-(pool["vina"] + weight * pool["vinardo"]) for pool in pools])
    right = np.concatenate([pool["rmsds"] < SUCCESS_RMSD for pool in pools])
    positives, negatives = keys[right][:, None], keys[~right][None]
    return float(((positives > negatives) + 0.5 * (positives == negatives)).mean())


def cross_validated(pools: list[dict[str, np.ndarray]], seed: int = 0) -> list[dict[str, float]]:
    """Per fold of a split by complex: the weight fitted on the other folds, and top-1 on this fold by it and by Vina."""
    order = np.random.default_rng(seed).permutation(len(pools))
    folds = np.array_split(order, FOLDS)
    rows = []
    for index, held_out in enumerate(folds):
        fitting = [pools[i] for other, fold in enumerate(folds) if other != index for i in fold]
        tested = [pools[i] for i in held_out]
        weight = max(WEIGHTS, key=lambda w: top1(fitting, w))  # ties: the smallest weight
        rows.append({"fold": index, "complexes": len(tested), "weight": weight, "vina": top1(tested, 0.0), "consensus": top1(tested, weight)})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decoys", type=Path, nargs="+", required=True, help="decoy folders (models/training/decoys/<dataset>)")
    parser.add_argument("--data-dir", type=Path, nargs="+", required=True, help="the datasets the decoys were made from")
    parser.add_argument("--val-split", type=Path, nargs="+", required=True, help="the validation ID files (reported on their own)")
    parser.add_argument("--cache", type=Path, required=True, help="folder for the Vinardo scores per complex")
    parser.add_argument("--out", type=Path, required=True, help="output path without suffix")
    args = parser.parse_args(argv)
    try:
        sources = {source.name: source for folder in args.data_dir for source in discover_complexes(folder)}
        validation = {name for path in args.val_split for name in read_ids(path)}
    except DataError as error:
        fail(error)
    files = sorted((path for folder in args.decoys for path in folder.glob("*.npz")), key=lambda path: path.stem)
    args.cache.mkdir(parents=True, exist_ok=True)
    pools, names = [], []
    for path in progress(files, desc="decoy pools"):
        if path.stem in sources:
            pools.append(scored_pool(path, sources[path.stem], args.cache))
            names.append(path.stem)
    groups = {
        "all": pools,
        "training": [pool for name, pool in zip(names, pools) if name not in validation],
        "validation": [pool for name, pool in zip(names, pools) if name in validation],
    }
    table = {group: {"complexes": len(members), "poses": int(sum(len(p["rmsds"]) for p in members)),
                     "positive_fraction": float(np.mean(np.concatenate([p["rmsds"] < SUCCESS_RMSD for p in members]))),
                     "auroc_vina": auroc(members, 0.0), "auroc_consensus": auroc(members, PhysicsConfig.consensus_weight),
                     "best_of_pool": float(np.mean([(p["rmsds"] < SUCCESS_RMSD).any() for p in members])),
                     "vinardo": top1(members, None), **{f"w={w:g}": top1(members, w) for w in WEIGHTS}}
             for group, members in groups.items()}  # fmt: skip
    folds = cross_validated(pools)
    columns = ["complexes", "best_of_pool", "vinardo", *(f"w={w:g}" for w in WEIGHTS)]
    lines = ["| decoy pools | " + " | ".join(columns) + " |", "|" + " --- |" * (len(columns) + 1)]
    for group, row in table.items():
        lines.append(f"| {group} | {row['complexes']} | " + " | ".join(f"{100 * row[c]:.1f} %" for c in columns[1:]) + " |")
    lines += ["", f"| decoy pools | candidate poses | under 2 A | AUROC of Vina's score | AUROC of the consensus (w = {PhysicsConfig.consensus_weight:g}) |",
              "| --- | --- | --- | --- | --- |"]
    lines += [f"| {group} | {row['poses']} | {100 * row['positive_fraction']:.1f} % | {row['auroc_vina']:.3f} | {row['auroc_consensus']:.3f} |"
              for group, row in table.items()]  # fmt: skip
    lines += ["", "| fold | complexes | fitted weight | top-1 by Vina | top-1 by consensus |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r['fold']} | {r['complexes']} | {r['weight']:g} | {100 * r['vina']:.1f} % | {100 * r['consensus']:.1f} % |" for r in folds]
    mean = {key: float(np.mean([r[key] for r in folds])) for key in ("vina", "consensus")}
    lines.append(f"| mean | {len(pools)} | | {100 * mean['vina']:.1f} % | {100 * mean['consensus']:.1f} % |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({"command": sys.argv, "table": table, "folds": folds, "fold_mean": mean}, indent=2) + "\n")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
