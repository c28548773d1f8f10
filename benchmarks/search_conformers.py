"""Does Vina's search find the right pose more often from more starting conformers, at the same cost?

Vina keeps a ligand's bond lengths, angles and ring shapes as its starting conformer has them, and
searches position, orientation and torsions. For each complex, this runs Vina's search in the
complex's box (the harness's box rule) from seeded ETKDG conformers of the crystal ligand's
molecule: conformer 0 at exhaustiveness 8 (`predict`'s default search) and conformers 0, 1 and 2
at exhaustiveness 4. Pools of those searches are then ranked by Vina's score, as `predict` ranks
its candidates: one conformer at 8 against two conformers at 4 each (the same search effort), and
three at 4. The box, receptor and Vina seed are the same for every search of a complex.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/search_conformers.py \
        --data-dir DATA/pdbbind_subset --data-dir DATA/extra_complexes \
        --split VAL_IDS --out benchmarks/results/search-conformers

Records (`records.jsonl`, one line per complex: every search's RMSDs, scores and seconds) make a
stopped run resume; `summary.json` and `summary.md` are rewritten after every complex.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

from disco_dock.core.capped import CappedCallError, call_capped
from disco_dock.docking.data.discover import discover_complexes, read_ids
from disco_dock.docking.data.errors import DataError
from disco_dock.docking.data.ligand import heavy_positions_in_reference_order
from disco_dock.docking.data.redocking import load_complex
from disco_dock.docking.physics import PhysicsError, VinaPocket, import_libraries, receptor_pdbqt
from disco_dock.docking.pocket import BOX_PADDING
from disco_dock.docking.rmsd import pose_rmsds

SEARCHES = {"c0-e8": (0, 8), "c0-e4": (0, 4), "c1-e4": (1, 4), "c2-e4": (2, 4)}
"""Each search by name: (ETKDG seed of the starting conformer, Vina exhaustiveness)."""
POOLS = {
    "1 conformer, exhaustiveness 8": ("c0-e8",),
    "1 conformer, exhaustiveness 4": ("c0-e4",),
    "2 conformers, exhaustiveness 4 each": ("c0-e4", "c1-e4"),
    "3 conformers, exhaustiveness 4 each": ("c0-e4", "c1-e4", "c2-e4"),
}
"""The candidate pools compared, by the searches they join."""
POSES = 9
"""Poses kept per search (`PhysicsConfig.vina_poses`)."""
VINA_SEED = 1


def search_complex(source) -> dict:
    """Every search of `SEARCHES` on one complex: the poses' RMSDs and scores, and seconds."""
    first = load_complex(source, 0, BOX_PADDING)
    receptor = receptor_pdbqt(first.protein, near=[first.box])
    searches, pockets = {}, {}
    for name, (seed, exhaustiveness) in SEARCHES.items():
        inputs = first if seed == 0 else load_complex(source, seed, BOX_PADDING)
        begin = time.perf_counter()
        if seed not in pockets:
            pockets[seed] = VinaPocket(receptor, inputs.box, seed=VINA_SEED, ligand=inputs.start)
        found = pockets[seed].search(inputs.start, exhaustiveness, POSES)
        positions = [heavy_positions_in_reference_order(pose.mol, first.crystal.mol)[0] for pose in found]
        searches[name] = {
            "rmsds": pose_rmsds(first.crystal.mol, positions).values,
            "scores": [pose.score for pose in found],
            "seconds": time.perf_counter() - begin,
        }
    return searches


def pool_summary(records: list[dict]) -> dict:
    """Per pool: complexes, top-1 by Vina score < 2 A, best of the pool < 2 A, median seconds."""
    summary = {}
    for pool, names in POOLS.items():
        top1, best, seconds = [], [], []
        for record in records:
            searches = record.get("searches")
            if not searches:  # a failed complex is a miss for every pool
                top1.append(False), best.append(False)
                continue
            poses = [(score, rmsd) for name in names for score, rmsd in zip(searches[name]["scores"], searches[name]["rmsds"])]
            top1.append(bool(poses) and min(poses)[1] < 2.0)
            best.append(any(rmsd < 2.0 for _, rmsd in poses))
            seconds.append(sum(searches[name]["seconds"] for name in names))
        n = len(records)
        summary[pool] = {
            "n": n,
            "top1_below_2A": sum(top1) / n if n else math.nan,
            "best_of_pool_below_2A": sum(best) / n if n else math.nan,
            "median_search_seconds": statistics.median(seconds) if seconds else math.nan,
        }
    return summary


def markdown(summary: dict) -> str:
    """The pools' table."""
    rows = ["| pool (ranked by Vina's score) | N | top-1 < 2 A | best of pool < 2 A | median search s |", "| --- | --- | --- | --- | --- |"]
    for pool, s in summary.items():
        rows.append(f"| {pool} | {s['n']} | {100 * s['top1_below_2A']:.1f} % | {100 * s['best_of_pool_below_2A']:.1f} % | {s['median_search_seconds']:.1f} |")
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, action="append", required=True, help="a folder of complexes (repeatable)")
    parser.add_argument("--split", type=Path, required=True, help="the complex IDs to run, one per line")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--time-cap", type=float, default=300.0, help="seconds per complex; over it the complex is a miss")
    args = parser.parse_args()
    try:
        available = {source.name: source for folder in args.data_dir for source in discover_complexes(folder)}
        names = read_ids(args.split)
    except DataError as error:
        sys.exit(f"error: {error}")
    missing = [name for name in names if name not in available]
    if missing:
        sys.exit(f"error: {len(missing)} complexes of {args.split} are in no data folder, e.g. {missing[0]}")
    import_libraries()
    args.out.mkdir(parents=True, exist_ok=True)
    records_file = args.out / "records.jsonl"
    records = [json.loads(line) for line in records_file.read_text().splitlines()] if records_file.exists() else []
    done = {record["complex"] for record in records}
    for index, name in enumerate(names, start=1):
        if name in done:
            continue
        try:
            record = {"complex": name, "searches": call_capped(search_complex, available[name], seconds=args.time_cap)}
        except (CappedCallError, DataError, PhysicsError) as error:
            record = {"complex": name, "error": str(error)}
        records.append(record)
        with records_file.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        summary = pool_summary(records)
        (args.out / "summary.json").write_text(json.dumps({"command": sys.argv, "pools": summary}, indent=2) + "\n")
        (args.out / "summary.md").write_text(markdown(summary))
        outcome = record.get("error") or ", ".join(f"{key} {min(zip(s['scores'], s['rmsds']))[1]:.2f} A" for key, s in record["searches"].items())
        print(f"[{index}/{len(names)}] {name}: {outcome}", flush=True)
    print(markdown(pool_summary(records)), end="")


if __name__ == "__main__":
    main()
