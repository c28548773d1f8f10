"""Batch docking (`disco-dock predict --csv`): every complex of a CSV docked and written to a folder
of its own, each protein read once; a complex that fails is recorded and the others go on."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import torch

from disco_dock.core.training import progress
from disco_dock.docking.bundle import DockingModel
from disco_dock.docking.config import PhysicsConfig, SamplingConfig
from disco_dock.docking.data.errors import DataError
from disco_dock.docking.data.ligand import LIGAND_SUFFIXES
from disco_dock.docking.data.protein import Receptor, read_protein
from disco_dock.docking.dock import default_name, dock
from disco_dock.docking.pocket import EmptyPocketError, pocket_from_options
from disco_dock.docking.results import DockingResult
from disco_dock.docking.writer import RESULTS_FILE, write_result, write_table

FAILURES_FILE = "failures.csv"


@dataclass(frozen=True)
class BatchFailure:
    """A complex of a batch run that could not be docked (a row of `failures.csv`)."""

    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


def read_batch(path: str | Path) -> list[dict[str, str]]:
    """Rows of a batch CSV (columns protein, ligand, optional name, box, pocket_center,
    pocket_radius, reference_ligand), with file paths relative to the CSV's folder made absolute
    and every row named (default: `default_name`). DataError on a missing column or repeated names."""
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
    for row in rows:
        for column in ("protein", "ligand", "box", "reference_ligand"):
            if row.get(column) and (column != "ligand" or Path(row[column]).suffix.lower() in LIGAND_SUFFIXES):
                row[column] = str(path.parent / row[column])
        row["name"] = row.get("name") or default_name(row["protein"], row["ligand"])
    names = [row["name"] for row in rows]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DataError(path, f"complex names repeated: {', '.join(repeated[:5])} (add a name column)")
    return rows


def dock_row(
    row: dict[str, str],
    receptor: Receptor,
    model: DockingModel,
    sampling: SamplingConfig,
    device: str | torch.device,
    physics: PhysicsConfig = PhysicsConfig(),
) -> DockingResult:
    """`dock` one row of a batch CSV into its protein's `receptor`, with the row's pocket options."""
    radius = float(row["pocket_radius"]) if row.get("pocket_radius") else None
    pocket = pocket_from_options(model.config.pocket.radius, row.get("box"), row.get("pocket_center"), radius, row.get("reference_ligand"))
    try:
        return dock(receptor, row["ligand"], model, pocket, sampling, device, row["name"], physics)
    except EmptyPocketError as error:
        raise DataError(row["protein"], str(error)) from None


def write_failures(path: Path, failures: list[BatchFailure]) -> None:
    """`failures.csv` at `path`: name, reason of every failed complex."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "reason"])
        writer.writerows([failure.name, failure.reason] for failure in failures)


def predict_batch(
    csv_path: str | Path,
    model: DockingModel,
    sampling: SamplingConfig,
    out_dir: str | Path,
    device: str | torch.device = "cpu",
    physics: PhysicsConfig = PhysicsConfig(),
    hydrogens: bool = False,
) -> tuple[list[DockingResult], list[BatchFailure]]:
    """Dock every row of a batch CSV (`read_batch`) and write it to `out_dir/<name>/`
    (`write_result`), each protein read once; a progress bar on stderr. Writes
    `out_dir/results.csv` (every pose) and `out_dir/failures.csv`; the results and the failures."""
    out_dir = Path(out_dir)
    rows = read_batch(csv_path)
    receptors: dict[str, Receptor | DataError] = {}
    written: list[tuple[DockingResult, list[Path]]] = []
    failures: list[BatchFailure] = []
    for row in progress(rows, desc="predict"):
        try:
            if row["protein"] not in receptors:
                try:
                    receptors[row["protein"]] = read_protein(row["protein"])
                except DataError as error:
                    receptors[row["protein"]] = error
            receptor = receptors[row["protein"]]
            if isinstance(receptor, DataError):
                raise receptor
            result = dock_row(row, receptor, model, sampling, device, physics)
            written.append((result, write_result(result, out_dir / row["name"], hydrogens)))
        except (DataError, ValueError) as error:
            failures.append(BatchFailure(row["name"], " ".join(str(error).split())))
    out_dir.mkdir(parents=True, exist_ok=True)
    write_table(out_dir / RESULTS_FILE, written)
    write_failures(out_dir / FAILURES_FILE, failures)
    return [result for result, _ in written], failures
