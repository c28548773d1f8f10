"""Ranking a benchmark run's candidate pools again, with pose rankers made after it ran.

A disco-dock method with Vina in its physics stage records, per complex, every candidate's RMSD,
Vina score and (`harness.read_poses`) its heavy-atom positions. That is all a pose ranker
(`docking.ranking`) needs besides the protein, so any number of rankers can be compared on the
very pools the run made, beside Vina's score and the best pose of the pool (the ceiling), without
docking again: `benchmarks/rerank.py`.

Each ranker picks the pose it gives the highest probability (a pose ranker on the pool's
features, `--ranker`, or a model bundle's confidence model on each pose, `--confidence`), Vina's
score the lowest score (as the harness's "by Vina score" column: no validity ordering in either),
and with `consensus` the Vina + Vinardo consensus (`candidates.consensus_score`) the lowest
consensus, from the record's Vinardo scores or, for records made before poses had them, from
Vinardo run on the kept poses (a complex Vinardo cannot score is a miss of the consensus, with a
warning). With `validity` as well, two more rankings follow the pipeline's last step
(`candidates.validity_checked`): the consensus order, flagged poses last, and the first pose in it
that passes PoseBusters' checks, against the protein file as it is and against it without its
waters (which the docking never sees: the Vina receptor leaves them out). A complex the method
failed on is a miss in every column; one whose poses were not kept (a record from before they
were) is left out and counted. Pools without Vina scores (the learned model alone) are ranked only
by rankers that need none: a method none of whose pools has them gets no column of the others,
and in a method where some have them the others count as misses there.
"""

from __future__ import annotations

import json
import math
import tempfile
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from rdkit import Chem
from scipy.special import expit

from disco_dock.benchmark.harness import read_poses, read_records
from disco_dock.docking.bundle import DockingModel
from disco_dock.docking.candidates import consensus_score, learned_score
from disco_dock.docking.config import POCKET, PhysicsConfig, SamplingConfig
from disco_dock.docking.data.discover import ComplexSource
from disco_dock.docking.data.errors import DataError
from disco_dock.docking.data.graph import LIGAND
from disco_dock.docking.data.ligand import read_ligand
from disco_dock.docking.data.protein import read_heavy_atoms, read_protein
from disco_dock.docking.data.redocking import redocking_box
from disco_dock.docking.dock import confidences, docking_graph
from disco_dock.docking.physics.errors import PhysicsError
from disco_dock.docking.physics.ligand import with_positions
from disco_dock.docking.physics.pocket import VINARDO
from disco_dock.docking.physics.receptor import is_water
from disco_dock.docking.physics.refinement import rescored
from disco_dock.docking.physics.validity import check_poses
from disco_dock.docking.pocket import BOX_PADDING, Pocket
from disco_dock.docking.ranking.features import pool_features, protein_tree
from disco_dock.docking.ranking.model import PoseRanker
from disco_dock.docking.ranking.training import SUCCESS_RMSD

VINA_SCORE, BEST_OF_POOL = "vina score", "best of pool"
CONSENSUS = f"vina + {PhysicsConfig.consensus_weight:g} vinardo"
VALID_FIRST = f"{CONSENSUS}, valid first"
VALID_FIRST_NO_WATERS = f"{VALID_FIRST} (no waters)"
RESERVED_NAMES = (VINA_SCORE, BEST_OF_POOL, CONSENSUS, VALID_FIRST, VALID_FIRST_NO_WATERS)
"""The rankings' names that a ranker given on the command line may not take."""


@dataclass(frozen=True)
class PoolPicks:
    """One complex: the RMSD of the pose each ranking picks (infinite for a failed complex)."""

    complex: str
    picked_rmsd: dict[str, float]
    """By ranking name: the rankers' names, `VINA_SCORE` and `BEST_OF_POOL`."""


@dataclass(frozen=True)
class RerankSummary:
    """Top-1 under 2 A per ranking over the complexes of one subset."""

    complexes: int
    top1_below_2A: dict[str, float]


class PoolRanker(Protocol):
    """What ranks a recorded pool: a probability per pose that it is within 2 A."""

    needs_scores: bool
    """Whether it needs every pose's Vina score (pools of the learned model alone have none)."""

    def pool_probabilities(self, positions: np.ndarray, scores: np.ndarray, source: ComplexSource) -> np.ndarray:
        """(K,) probabilities of the poses (K, N, 3) with Vina scores (K,) of the complex `source`."""
        ...


class FeatureRanking:
    """A pose ranker (`docking.ranking`) on the features of each pose against its pool and the protein."""

    needs_scores = True

    def __init__(self, ranker: PoseRanker):
        self.ranker = ranker

    def pool_probabilities(self, positions: np.ndarray, scores: np.ndarray, source: ComplexSource) -> np.ndarray:
        """(K,) the ranker's probability that each pose (K, N, 3) with Vina scores (K,) is within 2 A."""
        tree = protein_tree(read_heavy_atoms(source.protein))
        features = torch.as_tensor(pool_features(positions.astype(np.float64), scores, tree), dtype=torch.float32)
        return self.ranker.probabilities(features).detach().numpy()


class ConfidenceRanking:
    """A model bundle's confidence model on each pose, as `predict` computes its confidences: in the
    complex's pocket from the benchmark's box (`redocking_box`, `Pocket.from_box`) for a pocket
    model, in the whole receptor for a blind one. It ranks as `predict` does: a model trained to
    correct Vina's ranking (`DockingModel.confidence_vina_weight` > 0) by
    `candidates.learned_score` where every pose has Vina's score, by its confidence elsewhere."""

    needs_scores = False

    def __init__(self, model: DockingModel):
        self.model = model.eval()
        self.vina_weight = model.confidence_vina_weight

    def pool_probabilities(self, positions: np.ndarray, scores: np.ndarray, source: ComplexSource) -> np.ndarray:
        """(K,) `dock.confidences` of the poses (K, N, 3), or for a Vina-correcting model and Vina's
        scores `scores` (K,) all there, the sigmoid of their `learned_score`."""
        crystal = read_ligand(source.ligand, source.ligand_fallback)
        box, _ = redocking_box(source, crystal, BOX_PADDING)
        pocket = Pocket.from_box(box, self.model.config.pocket.radius) if self.model.config.mode == POCKET else None
        graph = docking_graph(source.name, read_protein(source.protein), crystal, pocket, seed=0)
        poses = torch.as_tensor(positions, dtype=graph[LIGAND].pos.dtype)
        probabilities = confidences(self.model, graph, poses, SamplingConfig.batch_nodes).numpy()
        if not self.vina_weight or len(scores) != len(probabilities) or not np.isfinite(scores).all():
            return probabilities
        learned = np.array([learned_score(p, score, self.vina_weight) for p, score in zip(probabilities, scores, strict=True)])
        return expit(learned)


def _stored(path: Path):
    """What torch stored in `path`; DataError when it is not a torch file."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds on files that are not its own
        raise DataError(path, f"not a ranker or model file ({type(error).__name__})") from error


def load_ranker(path: Path) -> FeatureRanking:
    """The pose ranker in `path`: a `disco-dock train-ranker` run's ranker.pt, or a model bundle
    holding one. DataError when the file holds neither."""
    stored = _stored(path)
    if isinstance(stored, dict) and "ranker" in stored and "config" in stored:
        ranker = PoseRanker(stored["config"]["hidden"], stored["config"]["layers"])
        ranker.load_state_dict(stored["ranker"])
        return FeatureRanking(ranker.eval())
    ranker = DockingModel.load(path).ranker
    if ranker is None:
        raise DataError(path, "the model bundle holds no pose ranker (add one with disco-dock train-ranker --into)")
    return FeatureRanking(ranker.eval())


def load_confidence(path: Path) -> ConfidenceRanking:
    """The confidence model of the model bundle `path`. DataError when the file holds none."""
    model = DockingModel.load(path)
    if model.confidence is None:
        raise DataError(path, "the model bundle holds no confidence model (train one with disco-dock train confidence)")
    return ConfidenceRanking(model)


def recorded_scores(record: dict, key: str) -> np.ndarray:
    """A record's per-pose scores under `key` (NaN for a missing value; empty when none)."""
    return np.array([math.nan if value is None else value for value in record.get(key) or []], dtype=np.float64)


def vinardo_scores(record: dict, positions: np.ndarray, source: ComplexSource) -> np.ndarray:
    """Every kept pose's Vinardo score: the record's (NaN for the poses `predict` did not rescore,
    `PhysicsConfig.vinardo_poses`), else, when the record has none, Vinardo run on all the poses
    (in the crystal ligand's atom order) in the complex's protein."""
    recorded = recorded_scores(record, "vinardo_scores")
    if len(recorded) == len(positions) and np.isfinite(recorded).any():
        return recorded
    ligand = read_ligand(source.ligand, source.ligand_fallback).mol
    return np.array(rescored(source.protein, [with_positions(ligand, pose) for pose in positions.astype(np.float64)], VINARDO))


def first_valid(order: list[int], positions: np.ndarray, ligand: Chem.Mol, protein: Path) -> int:
    """The first pose in `order` (indices into `positions`, poses of the molecule `ligand` in its atom
    order) that passes PoseBusters' checks against the PDB file `protein`; the first in `order` when none does."""
    for index in order:
        if check_poses([with_positions(ligand, positions[index].astype(np.float64))], protein)[0].passed:
            return index
    return order[0]


def without_waters(protein: Path, folder: Path) -> Path:
    """A copy of the PDB file `protein` in `folder` without its waters' atoms."""
    lines = protein.read_text().splitlines()
    path = folder / f"{protein.stem}-no-waters.pdb"
    path.write_text("\n".join(line for line in lines if not is_water(line)) + "\n")
    return path


def _valid_first_picks(
    record: dict, rmsds: np.ndarray, positions: np.ndarray, source: ComplexSource, consensus: np.ndarray, vina: np.ndarray
) -> dict[str, float]:
    """`VALID_FIRST` and `VALID_FIRST_NO_WATERS`: the order by `consensus` (infinite where missing;
    flagged poses last; ties by Vina's score `vina`) and its first pose passing the checks with and
    without waters."""
    flags = record.get("flags") or [""] * len(rmsds)
    order = sorted(range(len(rmsds)), key=lambda index: (bool(flags[index]), consensus[index], vina[index]))
    ligand = read_ligand(source.ligand, source.ligand_fallback).mol
    with tempfile.TemporaryDirectory(prefix="disco-dock-rerank-") as folder:
        proteins = {VALID_FIRST: Path(source.protein), VALID_FIRST_NO_WATERS: without_waters(Path(source.protein), Path(folder))}
        return {name: float(rmsds[first_valid(order, positions, ligand, protein)]) for name, protein in proteins.items()}


def pool_picks(
    record: dict, positions: np.ndarray | None, source: ComplexSource | None, rankers: dict[str, PoolRanker], consensus: bool = False,
    validity: bool = False,
) -> PoolPicks | None:
    """The picks of every ranking in one record's pool (None when the record's poses were not kept);
    a failed record is a miss for every ranking; a pool without every Vina score (the learned model
    alone) has no pick of the rankings that need them (`PoolRanker.needs_scores`, Vina's score, the
    consensus). `validity` (with `consensus`) adds `VALID_FIRST` and `VALID_FIRST_NO_WATERS` (see
    the module docstring)."""
    checked = [VALID_FIRST, VALID_FIRST_NO_WATERS] if consensus and validity else []
    names = [*rankers, VINA_SCORE, *([CONSENSUS] if consensus else []), *checked, BEST_OF_POOL]
    miss = PoolPicks(record["complex"], {name: math.inf for name in names})
    if record.get("error") or not record.get("rmsds"):
        return miss
    if positions is None:
        return None
    scores = recorded_scores(record, "vina_scores")
    rmsds = np.asarray(record["rmsds"], dtype=np.float64)
    if len(positions) != len(rmsds):
        return miss
    scored = len(scores) == len(rmsds) and bool(np.isfinite(scores).all())
    picked = {}
    for name, ranker in rankers.items():
        if ranker.needs_scores and not scored:
            continue
        try:
            picked[name] = float(rmsds[int(np.argmax(ranker.pool_probabilities(positions, scores, source)))])
        except (DataError, PhysicsError) as error:
            warnings.warn(f"{record['complex']}: {name} cannot rank the pool, a miss: {error}", stacklevel=2)
            picked[name] = math.inf
    if not scored:  # the rankings that need Vina's scores are left out, not counted as misses
        return PoolPicks(record["complex"], picked | {BEST_OF_POOL: float(rmsds.min())})
    picked[VINA_SCORE] = float(rmsds[np.argmin(scores)])
    if consensus:
        try:
            combined = consensus_score(scores, vinardo_scores(record, positions, source), PhysicsConfig.consensus_weight)
            combined = np.where(np.isfinite(combined), combined, np.inf)
            picked[CONSENSUS] = float(rmsds[np.argmin(combined)])
            if checked:
                picked |= _valid_first_picks(record, rmsds, positions, source, combined, scores)
        except (DataError, PhysicsError) as error:
            warnings.warn(f"{record['complex']}: no Vinardo scores or checks, a miss of the consensus: {error}", stacklevel=2)
            picked |= {name: math.inf for name in (CONSENSUS, *checked)}
    return PoolPicks(record["complex"], picked | {BEST_OF_POOL: float(rmsds.min())})


def rerank_method(
    out_dir: Path, method: str, sources: dict[str, ComplexSource], names: list[str], rankers: dict[str, PoolRanker],
    consensus: bool = False, progress=None, validity: bool = False,
) -> tuple[list[PoolPicks], list[str]]:
    """The picks on `method`'s recorded pools of the named complexes (in that order, those with a
    record; `consensus` adds the Vina + Vinardo consensus, `validity` its valid-first orders), and
    the complexes left out because their poses were not kept; `progress` (e.g. `core.training.progress`) wraps the loop over complexes."""
    records = read_records(out_dir, method)
    if not records:
        raise DataError(out_dir, f"no records of method {method}")
    picks, left_out = [], []
    for name in (progress or iter)([name for name in names if name in records]):
        result = pool_picks(records[name], read_poses(out_dir, method, name), sources.get(name), rankers, consensus, validity)
        if result is None:
            left_out.append(name)
        else:
            picks.append(result)
    return picks, left_out


def summarize_picks(picks: list[PoolPicks]) -> RerankSummary:
    """The fraction of complexes whose pick is under 2 A, per ranking."""
    rankings = list(dict.fromkeys(name for pick in picks for name in pick.picked_rmsd))
    return RerankSummary(
        len(picks), {name: float(np.mean([p.picked_rmsd.get(name, math.inf) < SUCCESS_RMSD for p in picks])) for name in rankings}
    )


def markdown(summaries: dict[str, RerankSummary]) -> str:
    """One table: a row per subset, a column per ranking ("-" for a subset with no complex done yet)."""
    rankings = next((list(s.top1_below_2A) for s in summaries.values() if s.complexes), [])
    rows = ["| complexes | N | " + " | ".join(f"top-1 < 2 A by {name}" for name in rankings) + " |", "|" + " --- |" * (len(rankings) + 2)]
    for subset, summary in summaries.items():
        cells = " | ".join(f"{100 * summary.top1_below_2A[name]:.1f} %" if name in summary.top1_below_2A else "-" for name in rankings)
        rows.append(f"| {subset} | {summary.complexes} | {cells} |")
    return "\n".join(rows)


def write_rerank(out: Path, summaries: dict[str, RerankSummary], picks: list[PoolPicks], about: dict) -> None:
    """`out.json` (settings, summaries, per-complex picks) and `out.md` (the table)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"complex": p.complex, "picked_rmsd": {k: v if math.isfinite(v) else None for k, v in p.picked_rmsd.items()}} for p in picks]
    content = about | {"summaries": {name: asdict(summary) for name, summary in summaries.items()}, "picks": rows}
    out.with_suffix(".json").write_text(json.dumps(content, indent=2, default=str) + "\n")
    out.with_suffix(".md").write_text(markdown(summaries) + "\n")


def main(argv: list[str] | None = None) -> None:
    """`benchmarks/rerank.py`: rank a run's recorded pools with the given rankers; prints the table
    and writes `--out`.json/.md. Bad input: one line on stderr, exit status 2."""
    import argparse
    import sys

    from disco_dock.benchmark.cli import fail
    from disco_dock.benchmark.config import Subset, name_and_path
    from disco_dock.core.training import progress
    from disco_dock.docking.data.discover import discover_complexes, read_ids

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, required=True, help="the benchmark run's output folder")
    parser.add_argument("--method", required=True, help="the method whose pools to rank (e.g. disco-dock-pocket-vina)")
    parser.add_argument("--data-dir", type=Path, required=True, help="the run's dataset folder (for the proteins)")
    parser.add_argument("--ranker", action="append", default=[], metavar="NAME=FILE", help="a ranker.pt or model bundle with a ranker (repeatable)")
    parser.add_argument(
        "--confidence", action="append", default=[], metavar="NAME=FILE", help="a model bundle whose confidence model ranks the poses as predict does (repeatable)",
    )  # fmt: skip
    parser.add_argument("--consensus", action="store_true", help="also rank by the Vina + Vinardo consensus (Vinardo runs on pools recorded without its scores: a few CPU s each)")
    parser.add_argument(
        "--validity", action="store_true",
        help="with --consensus: also its first pose passing PoseBusters' checks, with and without the protein's waters (seconds per complex)",
    )  # fmt: skip
    parser.add_argument("--subset", action="append", default=[], metavar="NAME=IDS_FILE", help="also report these complexes on their own (repeatable)")
    parser.add_argument("--out", type=Path, help="output path without suffix (default: RESULTS/rerank-METHOD)")
    args = parser.parse_args(argv)
    try:
        rankers = {}
        for option, texts, load in (("--ranker", args.ranker, load_ranker), ("--confidence", args.confidence, load_confidence)):
            for text in texts:
                named = name_and_path(text)
                if named is None:
                    raise ValueError(f"{option} {text!r}: expected NAME=FILE")
                if named[0] in rankers or named[0] in RESERVED_NAMES:
                    raise ValueError(f"{option} {text!r}: the name {named[0]!r} is taken")
                rankers[named[0]] = load(named[1])
        if args.validity and not args.consensus:
            raise ValueError("--validity needs --consensus: the checks follow the consensus order")
        subsets = [Subset.parse(text) for text in args.subset]
        sources = {source.name: source for source in discover_complexes(args.data_dir)}
        names = list(read_records(args.results, args.method))
        picks, left_out = rerank_method(args.results, args.method, sources, names, rankers, args.consensus, progress, args.validity)
        members = {subset.name: set(read_ids(subset.ids)) for subset in subsets}
    except (DataError, ValueError) as error:
        fail(error)
    groups = {"all": picks} | {name: [p for p in picks if p.complex in ids] for name, ids in members.items()}
    summaries = {name: summarize_picks(group) for name, group in groups.items()}
    about = {
        "command": sys.argv, "results": str(args.results), "method": args.method, "rankers": args.ranker + args.confidence,
        "consensus_weight": PhysicsConfig.consensus_weight if args.consensus else None, "validity": args.validity, "left_out": left_out,
    }  # fmt: skip
    write_rerank(args.out or args.results / f"rerank-{args.method}", summaries, picks, about)
    print(markdown(summaries))
    if left_out:
        print(f"{len(left_out)} complexes left out: their poses were not kept (records from before poses were kept)")
