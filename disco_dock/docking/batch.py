"""Batch docking (`disco-dock predict --csv`): every complex of a CSV docked and written to a
folder of its own (`out/<name>/`, as a single run writes), each protein read once; a complex that
fails is recorded and the others go on.

* The model follows each row: a row with a pocket column (box, pocket_center, reference_ligand)
  is docked with the pocket model, one without with the blind model (`models(mode)`).
* Resume: a row whose folder holds a complete run (`run.json`) is skipped, unless `overwrite`;
  a folder left incomplete by a crash is cleared and docked again.
* Summaries: `results.csv` (every pose of every complex done, this run's and earlier ones') and
  `failures.csv` are written row by row, so that Ctrl-C or a crash leaves what finished.
* Shards: `shard=(i, n)` docks rows i, i + n, i + 2n, ... (0 <= i < n) and names its summaries
  `results.shard-i-of-n.csv` and `failures.shard-i-of-n.csv`, so that the n jobs of a Slurm array
  share one output folder; a run without a shard afterwards finds every row done and writes the
  merged summaries.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from disco_dock.core.training import progress
from disco_dock.docking.bundle import DockingModel
from disco_dock.docking.config import BLIND, POCKET, PhysicsConfig, SamplingConfig
from disco_dock.docking.data.errors import DataError
from disco_dock.docking.data.ligand import LIGAND_SUFFIXES
from disco_dock.docking.data.protein import Receptor, read_protein
from disco_dock.docking.dock import dock
from disco_dock.docking.pocket import EmptyPocketError, pocket_from_options
from disco_dock.docking.results import DockingResult
from disco_dock.docking.writer import RESULT_COLUMNS, RESULTS_FILE, RUN_FILE, prepare_folder, write_result

FAILURES_FILE = "failures.csv"
POCKET_COLUMNS = ("box", "pocket_center", "reference_ligand")
"""A row with any of these docks into a pocket (`pocket_from_options`)."""


@dataclass(frozen=True)
class BatchFailure:
    """A complex of a batch run that could not be docked (a row of `failures.csv`)."""

    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


@dataclass
class BatchSummary:
    """What a batch run did: complexes docked now, skipped as done before, failed; poses in `results.csv`."""

    docked: list[DockingResult] = field(default_factory=list)
    skipped: int = 0
    failures: list[BatchFailure] = field(default_factory=list)
    poses: int = 0


def read_batch(path: str | Path) -> list[dict[str, str]]:
    """Rows of a batch CSV (columns protein, ligand, optional name, box, pocket_center,
    pocket_radius, reference_ligand), with file paths relative to the CSV's folder made absolute
    and every row named (default: the ligand file's stem, else "row<N>" for data row N). DataError
    on a missing column or repeated names."""
    path = Path(path)
    try:
        with path.open(newline="") as handle:
            rows = [{key.strip(): (value or "").strip() for key, value in row.items() if key} for row in csv.DictReader(handle)]
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(path, f"cannot read the CSV ({error})") from None
    if not rows:
        raise DataError(path, "no complexes (expected a header with protein, ligand[, name] and one row per complex)")
    missing = [column for column in ("protein", "ligand") if column not in rows[0]]
    if missing:
        raise DataError(path, f"no {' or '.join(missing)} column (header: {', '.join(rows[0])})")
    for number, row in enumerate(rows, start=1):
        ligand_file = Path(row["ligand"]).suffix.lower() in LIGAND_SUFFIXES
        for column in ("protein", "ligand", "box", "reference_ligand"):
            if row.get(column) and (column != "ligand" or ligand_file):
                row[column] = str(path.parent / row[column])
        row["name"] = row.get("name") or (Path(row["ligand"]).stem if ligand_file else f"row{number}")
    names = [row["name"] for row in rows]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DataError(path, f"complex names repeated: {', '.join(repeated[:5])} (add a name column)")
    return rows


def parse_shard(text: str) -> tuple[int, int]:
    """ "i/n" as (i, n) with 0 <= i < n (Slurm: $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT with
    --array=0-(n-1)); DataError otherwise."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise DataError(text, "a shard is i/n, e.g. 0/10 for the first of 10") from None
    if not 0 <= index < count:
        raise DataError(text, f"a shard i/n needs 0 <= i < n (the first of {max(count, 1)} is 0/{max(count, 1)})")
    return index, count


def row_mode(row: Mapping[str, str]) -> str:
    """POCKET when the row gives a pocket, else BLIND: the model that docks it."""
    return POCKET if any(row.get(column) for column in POCKET_COLUMNS) else BLIND


def dock_row(
    row: dict[str, str],
    receptor: Receptor,
    model: DockingModel,
    sampling: SamplingConfig,
    device: str | torch.device,
    physics: PhysicsConfig = PhysicsConfig(),
) -> DockingResult:
    """`dock` one row of a batch CSV into its protein's `receptor`, with the row's pocket options."""
    try:
        radius = float(row["pocket_radius"]) if row.get("pocket_radius") else None
    except ValueError:
        raise DataError(row["pocket_radius"], "a pocket radius is a number (A)") from None
    pocket = pocket_from_options(model.config.pocket.radius, row.get("box"), row.get("pocket_center"), radius, row.get("reference_ligand"))
    try:
        return dock(receptor, row["ligand"], model, pocket, sampling, device, row["name"], physics)
    except EmptyPocketError as error:
        raise DataError(row["protein"], str(error)) from None


def summary_names(shard: tuple[int, int] | None) -> tuple[str, str]:
    """The file names of the results and failures summaries (a shard's carry its number)."""
    if shard is None:
        return RESULTS_FILE, FAILURES_FILE
    suffix = f".shard-{shard[0]}-of-{shard[1]}.csv"
    return RESULTS_FILE.replace(".csv", suffix), FAILURES_FILE.replace(".csv", suffix)


def complex_rows(out_dir: Path, name: str) -> list[list[str]]:
    """The rows of `out_dir/name/results.csv` as the batch's `results.csv` holds them (file paths from `out_dir`)."""
    with (out_dir / name / RESULTS_FILE).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [[row[column] if column != "file" else f"{name}/{row['file']}" for column in RESULT_COLUMNS] for row in rows]


def predict_batch(
    csv_path: str | Path,
    models: Callable[[str], DockingModel],
    sampling: SamplingConfig,
    out_dir: str | Path,
    device: str | torch.device = "cpu",
    physics: PhysicsConfig = PhysicsConfig(),
    hydrogens: bool = False,
    overwrite: bool = False,
    shard: tuple[int, int] | None = None,
    run: Mapping[str, object] | None = None,
) -> BatchSummary:
    """Dock the rows of a batch CSV (`read_batch`; those of `shard`) as the module docstring says,
    each with `models(row_mode(row))`, writing `out_dir/<name>/` (`write_result`, `run` into its
    run.json) and the summaries; a progress bar on stderr."""
    out_dir = Path(out_dir)
    rows = read_batch(csv_path)
    rows = rows if shard is None else rows[shard[0] :: shard[1]]
    results_name, failures_name = summary_names(shard)
    prepare_folder(out_dir, overwrite=True, outputs=(results_name, failures_name))
    summary = BatchSummary()
    receptors: dict[str, Receptor | DataError] = {}
    with (out_dir / results_name).open("w", newline="") as results_file, (out_dir / failures_name).open("w", newline="") as failures_file:
        results, failures = csv.writer(results_file), csv.writer(failures_file)
        results.writerow(RESULT_COLUMNS)
        failures.writerow(["name", "reason"])
        for row in progress(rows, desc="predict"):
            folder = out_dir / row["name"]
            if not overwrite and (folder / RUN_FILE).is_file():
                table = complex_rows(out_dir, row["name"])
                summary.skipped += 1
            else:
                try:
                    if row["protein"] not in receptors:
                        try:
                            receptors[row["protein"]] = read_protein(row["protein"])
                        except DataError as error:
                            receptors[row["protein"]] = error
                    receptor = receptors[row["protein"]]
                    if isinstance(receptor, DataError):
                        raise receptor
                    result = dock_row(row, receptor, models(row_mode(row)), sampling, device, physics)
                    write_result(result, prepare_folder(folder, overwrite=True), hydrogens, {**(run or {}), "row": row})
                except (DataError, ValueError) as error:
                    failure = BatchFailure(row["name"], " ".join(str(error).split()))
                    summary.failures.append(failure)
                    failures.writerow([failure.name, failure.reason])
                    failures_file.flush()
                    continue
                summary.docked.append(result)
                table = complex_rows(out_dir, row["name"])
            results.writerows(table)
            results_file.flush()
            summary.poses += len(table)
    return summary
