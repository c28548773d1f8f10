"""Preprocessing: complexes on disk to a cache of training graphs, one file per complex.

`preprocess_dataset` is what `disco-dock preprocess` runs. The cache folder gets

* `<name>.pt` per complex (see `cache.py`, fields in `data/README.md`); complexes that already
  have one are skipped, so an interrupted run is resumed by running it again;
* `failures.csv` (`name, source, reason`): every complex of this run that failed, with the file
  at fault and a one-line reason; rewritten by each run (earlier failures are retried);
* `stats.csv`: one row per complex processed (time, sizes, how the ligand was read and its
  conformer made, RMSDs before and after conformer matching, warnings); appended by each run;
* `summary.json`: the numbers of `PreprocessSummary`.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, fields, replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import HeteroData
from tqdm import tqdm

from disco_dock.docking.data.cache import cache_path, is_current, save_graph
from disco_dock.docking.data.config import DataConfig, GraphConfig
from disco_dock.docking.data.conformers import generate_conformers, match_conformer, rotatable_bonds
from disco_dock.docking.data.discover import ComplexSource, discover_complexes, read_ids
from disco_dock.docking.data.errors import DataError, DataWarning
from disco_dock.docking.data.graph import build_complex_graph
from disco_dock.docking.data.ligand import featurize_ligand, load_ligand
from disco_dock.docking.data.protein import read_protein

FAILURES_FILE = "failures.csv"
STATS_FILE = "stats.csv"
SUMMARY_FILE = "summary.json"


@dataclass(frozen=True)
class ComplexStats:
    """What preprocessing one complex took and found (a row of `stats.csv`)."""

    name: str
    seconds: float
    residues: int
    ligand_atoms: int
    rotatable_bonds: int
    ligand_route: str  # `Ligand.route`
    conformer_method: str  # `Conformers.method`
    rmsd_rigid: float  # conformer rigidly aligned to the crystal pose (A); NaN without a pose
    rmsd_matched: float  # after conformer matching (A); NaN without a pose
    warnings: str  # DataWarnings raised while reading, "; "-joined


@dataclass(frozen=True)
class Failure:
    """A complex that could not be preprocessed (a row of `failures.csv`)."""

    name: str
    source: str  # the file (or SMILES, or folder) at fault
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.source}: {self.reason}"


@dataclass
class PreprocessSummary:
    """Outcome of one `preprocess_dataset` run."""

    total: int  # complexes asked for
    cached_before: int  # already in the cache, skipped
    processed: int  # preprocessed by this run
    failures: list[Failure] = field(default_factory=list)
    median_seconds: float = math.nan  # per complex processed by this run
    median_rmsd_rigid: float = math.nan  # over the whole cache, complexes with a pose
    median_rmsd_matched: float = math.nan  # over the whole cache, complexes with a pose
    warnings: int = 0  # complexes processed by this run with DataWarnings (see stats.csv)

    @property
    def succeeded(self) -> int:
        """Complexes in the cache after this run."""
        return self.cached_before + self.processed

    def text(self) -> str:
        """A few lines for people."""
        percent = 100.0 * self.succeeded / self.total if self.total else 0.0
        return "\n".join([
            f"{self.succeeded}/{self.total} complexes in the cache ({percent:.1f} %): "
            f"{self.processed} preprocessed now, {self.cached_before} already there, {len(self.failures)} failed",
            f"median time per complex: {self.median_seconds:.2f} s; complexes with warnings: {self.warnings}",
            f"conformer matching, median RMSD to the crystal pose: {self.median_rmsd_rigid:.2f} A rigid, "
            f"{self.median_rmsd_matched:.2f} A after matching torsions",
        ])  # fmt: skip


def process_complex(
    source: ComplexSource, config: DataConfig = DataConfig(), graph_config: GraphConfig = GraphConfig()
) -> tuple[HeteroData, ComplexStats]:
    """Read, featurise and match one complex; DataError (naming the file at fault) on bad input."""
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        receptor = read_protein(source.protein)
        ligand = load_ligand(source.ligand, source.ligand_fallback)
    mol = ligand.mol
    features = featurize_ligand(mol)
    bonds, moving = rotatable_bonds(mol)
    conformers = generate_conformers(mol, config.num_conformers, config.seed, config.embed_timeout_s, config.mmff_max_iters)
    if ligand.has_pose:
        crystal = ligand.positions
        match = min(
            (match_conformer(mol, conformer, crystal, bonds, moving, config.match_steps_deg, config.match_rounds) for conformer in conformers.pos),
            key=lambda result: result.rmsd,
        )
        pos, rmsd_rigid, rmsd_matched = match.pos, match.rmsd_before, match.rmsd
    else:
        crystal, pos, rmsd_rigid, rmsd_matched = None, conformers.pos[0], math.nan, math.nan
    graph = build_complex_graph(source.name, receptor, features, pos, crystal, bonds, moving, graph_config)
    stats = ComplexStats(
        name=source.name,
        seconds=time.perf_counter() - start,
        residues=len(receptor),
        ligand_atoms=mol.GetNumAtoms(),
        rotatable_bonds=len(bonds),
        ligand_route=ligand.route,
        conformer_method=conformers.method,
        rmsd_rigid=rmsd_rigid,
        rmsd_matched=rmsd_matched,
        warnings="; ".join(str(warning.message) for warning in caught if issubclass(warning.category, DataWarning)),
    )
    return graph, stats


def _valid_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and os.sep not in name


def _process_and_save(source: ComplexSource, out: Path, config: DataConfig, graph_config: GraphConfig) -> ComplexStats | Failure:
    """Preprocess one complex into the cache; a Failure instead of raising, whatever goes wrong."""
    if not _valid_name(source.name):
        return Failure(source.name, source.name, "complex name cannot be a file name")
    try:
        start = time.perf_counter()
        graph, stats = process_complex(source, config, graph_config)
        save_graph(graph, cache_path(out, source.name))
        return replace(stats, seconds=time.perf_counter() - start)  # saving included
    except DataError as error:
        return Failure(source.name, error.source, error.reason)
    except Exception as error:  # a batch run goes on whatever one complex does; the reason is recorded
        return Failure(source.name, str(source.protein), f"unexpected {type(error).__name__}: {' '.join(str(error).split())}")


def _init_worker() -> None:
    torch.set_num_threads(1)


def _run(
    sources: list[ComplexSource], out: Path, config: DataConfig, graph_config: GraphConfig, workers: int
) -> Iterator[ComplexStats | Failure]:
    """Results as complexes finish, in a pool of `workers` processes (in this process for 1)."""
    if workers <= 1:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for source in sources:
                yield _process_and_save(source, out, config, graph_config)
        finally:
            torch.set_num_threads(threads)
        return
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init_worker) as pool:
        futures = [pool.submit(_process_and_save, source, out, config, graph_config) for source in sources]
        for future in as_completed(futures):
            yield future.result()


def _read_stats(path: Path) -> dict[str, dict[str, str]]:
    """Rows of an existing stats.csv by complex name (the last row of a name wins)."""
    if not path.is_file():
        return {}
    with path.open(newline="") as handle:
        return {row["name"]: row for row in csv.DictReader(handle)}


def _median(values: list[float]) -> float:
    finite = [value for value in values if math.isfinite(value)]
    return float(np.median(finite)) if finite else math.nan


def preprocess_dataset(
    data: str | Path,
    out: str | Path,
    ids: str | Path | None = None,
    workers: int = 1,
    config: DataConfig = DataConfig(),
    progress: bool = True,
    graph_config: GraphConfig = GraphConfig(),
) -> PreprocessSummary:
    """Preprocess every complex of `data` (a dataset folder or CSV manifest, see `discover.py`) into `out`.

    `ids`: a file of complex names to restrict to (a split file). Complexes already in the
    cache in its current format are skipped (older files are made again); each failure is recorded and the others go on. DataError only for
    problems with the whole run (no complexes, unreadable ids file, unwritable cache folder).
    """
    data, out = Path(data), Path(out)
    sources = discover_complexes(data)
    failures: list[Failure] = []
    if ids is not None:
        wanted = read_ids(ids)
        if not wanted:
            raise DataError(ids, "no complex names in the file")
        by_name = {source.name: source for source in sources}
        failures = [Failure(name, str(data), "no such complex") for name in wanted if name not in by_name]
        sources = [by_name[name] for name in dict.fromkeys(wanted) if name in by_name]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(out, f"cannot create the cache folder ({error.strerror or error})") from None
    todo = [source for source in sources if not is_current(cache_path(out, source.name))]
    summary = PreprocessSummary(total=len(sources) + len(failures), cached_before=len(sources) - len(todo), processed=0)

    stats_path = out / STATS_FILE
    stats_columns = [f.name for f in fields(ComplexStats)]
    new_stats_file = not stats_path.is_file()
    seconds: list[float] = []
    with (
        (out / FAILURES_FILE).open("w", newline="") as failure_handle,
        stats_path.open("a", newline="") as stats_handle,
    ):
        failure_writer = csv.writer(failure_handle)
        failure_writer.writerow(["name", "source", "reason"])
        failure_writer.writerows([failure.name, failure.source, failure.reason] for failure in failures)
        stats_writer = csv.DictWriter(stats_handle, stats_columns)
        if new_stats_file:
            stats_writer.writeheader()
        results = _run(todo, out, config, graph_config, workers)
        bar = tqdm(results, total=len(todo), desc="preprocess", unit="complex", disable=None if progress else True)
        for result in bar:  # the bar shows on a terminal only (disable=None)
            if isinstance(result, Failure):
                failures.append(result)
                failure_writer.writerow([result.name, result.source, result.reason])
                failure_handle.flush()
                continue
            summary.processed += 1
            summary.warnings += bool(result.warnings)
            seconds.append(result.seconds)
            row = {key: f"{value:.4f}" if isinstance(value, float) else value for key, value in asdict(result).items()}
            stats_writer.writerow(row)
            stats_handle.flush()

    cached = {name: row for name, row in _read_stats(stats_path).items() if cache_path(out, name).is_file()}
    summary.failures = failures
    summary.median_seconds = _median(seconds)
    summary.median_rmsd_rigid = _median([float(row["rmsd_rigid"]) for row in cached.values()])
    summary.median_rmsd_matched = _median([float(row["rmsd_matched"]) for row in cached.values()])
    record = {**asdict(summary), "succeeded": summary.succeeded}
    record = {key: None if isinstance(value, float) and math.isnan(value) else value for key, value in record.items()}
    (out / SUMMARY_FILE).write_text(json.dumps(record, indent=2) + "\n")
    return summary
