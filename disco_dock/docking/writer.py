"""Writing docking results: `rank1.sdf`, `rank2.sdf`, ... and `results.csv` (what `disco-dock predict` leaves).

Each SDF holds one pose, titled with the complex's name, with its scores as properties (see
`pose_properties`); `results.csv` has one row per pose with the same values, its file (relative
to the CSV's folder) and the complex's name. Poses are written as heavy atoms (the model's and
Vina's poses are), or with hydrogens added in 3D (`hydrogens=True`).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from pathlib import Path

from rdkit import Chem

from disco_dock.docking.results import DockedPose, DockingResult

RESULTS_FILE = "results.csv"
SCORE_COLUMNS = ("rank", "confidence", "vina_score", "source", "refinement_shift", "posebusters_valid", "posebusters_failed")
RESULT_COLUMNS = (*SCORE_COLUMNS, "file", "name")


def _number(value: float, digits: int) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else "nan"


def pose_properties(pose: DockedPose) -> dict[str, str]:
    """The pose's values as text, by column: rank, confidence, Vina score (kcal/mol), source,
    refinement shift (A), PoseBusters verdict ("" when not checked) and its failed checks."""
    return {
        "rank": str(pose.rank),
        "confidence": _number(pose.confidence, 4),
        "vina_score": _number(pose.vina_score, 3),
        "source": pose.source,
        "refinement_shift": _number(pose.refinement_shift, 3),
        "posebusters_valid": "" if pose.valid is None else str(pose.valid).lower(),
        "posebusters_failed": " ".join(pose.failed_checks),
    }


def write_pose(pose: DockedPose, result: DockingResult, path: Path, hydrogens: bool = False) -> None:
    """One pose of `result` as an SDF file at `path` (hydrogens added in 3D with `hydrogens`)."""
    mol = Chem.AddHs(pose.mol, addCoords=True) if hydrogens else Chem.Mol(pose.mol)
    for key, value in {**pose_properties(pose), "mode": result.mode, "_Name": result.name}.items():
        mol.SetProp(key, value)
    with Chem.SDWriter(str(path)) as writer:
        writer.write(mol)


def write_table(path: Path, written: Iterable[tuple[DockingResult, list[Path]]]) -> None:
    """`results.csv` at `path`: a row per pose of every result, with the pose's file (from `write_result`)."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(RESULT_COLUMNS)
        for result, files in written:
            for pose, file in zip(result.poses, files, strict=True):
                values = pose_properties(pose)
                writer.writerow([values[column] for column in SCORE_COLUMNS] + [file.relative_to(path.parent).as_posix(), result.name])


def write_result(result: DockingResult, out_dir: str | Path, hydrogens: bool = False) -> list[Path]:
    """Write `result`'s poses as `out_dir/rank{k}.sdf` and their table as `out_dir/results.csv`;
    the pose files, best first."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [out_dir / f"rank{pose.rank}.sdf" for pose in result.poses]
    for pose, file in zip(result.poses, files):
        write_pose(pose, result, file, hydrogens)
    write_table(out_dir / RESULTS_FILE, [(result, files)])
    return files
