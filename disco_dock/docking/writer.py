"""Writing docking results: `rank1.sdf`, `rank2.sdf`, ... and `results.csv` (what `disco-dock predict` leaves).

Each SDF holds one pose with the properties confidence, rank and mode, titled with the complex's
name; `results.csv` has one row per pose: rank, confidence, file (relative to the CSV's folder), name.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from rdkit import Chem

from disco_dock.docking.results import DockedPose, DockingResult

RESULTS_FILE = "results.csv"
RESULT_COLUMNS = ("rank", "confidence", "file", "name")


def write_pose(pose: DockedPose, result: DockingResult, path: Path) -> None:
    """One pose of `result` as an SDF file at `path`."""
    mol = Chem.Mol(pose.mol)
    properties = {"confidence": f"{pose.confidence:.4f}", "rank": pose.rank, "mode": result.mode, "_Name": result.name}
    for key, value in properties.items():
        mol.SetProp(key, str(value))
    with Chem.SDWriter(str(path)) as writer:
        writer.write(mol)


def write_table(path: Path, written: Iterable[tuple[DockingResult, list[Path]]]) -> None:
    """`results.csv` at `path`: a row per pose of every result, with the pose's file (from `write_result`)."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(RESULT_COLUMNS)
        for result, files in written:
            for pose, file in zip(result.poses, files, strict=True):
                writer.writerow([pose.rank, f"{pose.confidence:.4f}", file.relative_to(path.parent).as_posix(), result.name])


def write_result(result: DockingResult, out_dir: str | Path) -> list[Path]:
    """Write `result`'s poses as `out_dir/rank{k}.sdf` and their table as `out_dir/results.csv`;
    the pose files, best first."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [out_dir / f"rank{pose.rank}.sdf" for pose in result.poses]
    for pose, file in zip(result.poses, files):
        write_pose(pose, result, file)
    write_table(out_dir / RESULTS_FILE, [(result, files)])
    return files
