"""The benchmark loop: complexes x methods -> per-complex JSON lines, summary JSON, markdown table.

Per method, `<out_dir>/<method>.jsonl` gets one line per complex as soon as it is done: every
pose's RMSD (rank order), the method's scores, runtime, PoseBusters' verdict on the top-1 pose,
for disco-dock the sha256 of its model file and its physics settings and, for a failure, the
reason (a failure is a miss in every fraction, never dropped; `BenchmarkConfig.time_cap_s` caps
each method's time per complex). A rerun skips the complexes already in the file, so an
interrupted run resumes (and refuses to go on with another model file or other physics
settings). `summary.json` and `summary.md` are rewritten at the end from everything in the
files for the selected complexes. Every pose itself (heavy atoms, rank order) is kept in
`<out_dir>/poses/<method>/<complex>.npz` (`read_poses`), written before its record, so that a
pool can be ranked again later without docking again (`benchmark.rerank`).

disco-dock methods that sample alike (one model, one sampling) make their diffusion samples once
per complex and put them each through their own physics stage (`run_complex`); each record counts
the shared sampling in its time and its cap, so its time is what the method alone would take.

The methods (`methods.py`) are Vina and disco-dock's pipelines by name, and any number of
disco-dock model bundles under names of their own (`config.Variant`), each in its bundle's mode.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from disco_dock.benchmark.config import PHYSICS_BEFORE, BenchmarkConfig
from disco_dock.benchmark.methods import Method, MethodSpec, StagedMethod, make_method, method_specs
from disco_dock.benchmark.metrics import THRESHOLDS, MethodSummary, posebusters_check, summarize
from disco_dock.core.capped import CappedCallError, call_capped, cpu_seconds
from disco_dock.core.files import replacing
from disco_dock.docking.data.discover import ComplexSource, discover_complexes, read_ids
from disco_dock.docking.data.errors import DataError
from disco_dock.docking.data.redocking import RedockingComplex, load_complex
from disco_dock.docking.rmsd import pose_rmsds


def _results_file(out_dir: Path, method: str) -> Path:
    """Where `method`'s per-complex records go."""
    return out_dir / f"{method}.jsonl"


def read_records(out_dir: Path, method: str) -> dict[str, dict]:
    """The records already written for `method`, by complex name (the last one wins)."""
    path = _results_file(out_dir, method)
    if not path.is_file():
        return {}
    records = (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return {record["complex"]: record for record in records}


def _append_record(out_dir: Path, record: dict) -> None:
    """Add one record to its method's JSON lines file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with _results_file(out_dir, record["method"]).open("a") as handle:
        handle.write(json.dumps(record) + "\n")


def poses_file(out_dir: Path, method: str, complex_name: str) -> Path:
    """Where `method`'s poses of one complex are kept."""
    return out_dir / "poses" / method / f"{complex_name}.npz"


def save_poses(out_dir: Path, method: str, complex_name: str, poses: np.ndarray) -> None:
    """Keep a method's poses (K, N, 3) of one complex (a temporary file, then a rename)."""
    with replacing(poses_file(out_dir, method, complex_name)) as temporary, temporary.open("wb") as handle:
        np.savez_compressed(handle, positions=np.asarray(poses, dtype=np.float32))


def read_poses(out_dir: Path, method: str, complex_name: str) -> np.ndarray | None:
    """The poses (K, N, 3) kept for a method's record of one complex, in its rank order (None when
    none were kept: a failure, or a record from before poses were kept)."""
    path = poses_file(out_dir, method, complex_name)
    if not path.is_file():
        return None
    with np.load(path) as stored:
        return stored["positions"]


@dataclass(frozen=True)
class MethodRun:
    """One method's record of one complex, and its poses (None on a failure)."""

    record: dict
    poses: np.ndarray | None = None


@dataclass(frozen=True)
class Spent:
    """What a method's call has used before it starts: its part of a stage shared with other
    methods (the diffusion samples of several pipelines), counted in its time and its cap."""

    runtime_s: float = 0.0
    cpu_s: float = 0.0
    shared_with: tuple[str, ...] = ()


def _call(function: Callable, argument, cap_s: float | None):
    """`function(argument)`, in a capped child process when `cap_s` is set."""
    return function(argument) if cap_s is None else call_capped(function, argument, seconds=cap_s)


def _failure(error: Exception) -> str:
    """A failed call's reason in one line (a capped call's reason is one line already)."""
    return str(error)[:500] if isinstance(error, CappedCallError) else f"{type(error).__name__}: {error}"[:500]


def run_method(method: Method, name: str, complex_: RedockingComplex, config: BenchmarkConfig, spent: Spent = Spent()) -> MethodRun:
    """One method on one complex (within `config.time_cap_s` less what `spent` used, when set),
    scored; a failure becomes a record with its reason. The record keeps the call's wall-clock and
    CPU seconds, `spent`'s included."""
    record: dict = {"complex": complex_.name, "method": name, "start": complex_.start_source, "box": complex_.box_source}
    if spent.shared_with:
        record["shared_stage"] = {"methods": list(spent.shared_with), "runtime_s": spent.runtime_s, "cpu_s": spent.cpu_s}
    start, start_cpu = time.perf_counter(), cpu_seconds()

    def timed() -> dict:
        return {"runtime_s": spent.runtime_s + time.perf_counter() - start, "cpu_s": spent.cpu_s + cpu_seconds() - start_cpu}

    cap = None if config.time_cap_s is None else config.time_cap_s - spent.cpu_s
    if cap is not None and cap <= 0:
        return MethodRun(record | timed() | {"error": f"over the time cap of {config.time_cap_s:g} CPU s"})
    try:
        output = _call(method, complex_, cap)
    except Exception as error:  # any failure of a method is a miss, recorded with its reason
        return MethodRun(record | timed() | {"error": _failure(error)})
    record |= timed()
    rmsds = pose_rmsds(complex_.crystal.mol, output.poses)
    record |= {
        "error": "" if rmsds.values else "no pose returned",
        "rmsds": rmsds.values,
        "scores": output.scores,
        "symmetry_corrected": rmsds.symmetry_corrected,
        "notes": "; ".join(note for note in (output.notes, rmsds.note) if note),
        **output.details,
    }
    if config.posebusters and rmsds.values:
        record["posebusters"] = dataclasses.asdict(posebusters_check(complex_.crystal.mol, output.poses[0], complex_.protein))
    return MethodRun(record, output.poses if rmsds.values else None)


def run_complex(methods: dict[str, Method], complex_: RedockingComplex, config: BenchmarkConfig) -> list[MethodRun]:
    """Every method on one complex, in order. Methods that sample alike (`StagedMethod`s with the
    same `sampling_key`: one model, one sampling) share one `sample` call: its time counts in each
    one's time and cap, and its failure is each one's failure."""
    groups: dict[object, list[str]] = {}
    for name, method in methods.items():
        groups.setdefault(method.sampling_key if isinstance(method, StagedMethod) else name, []).append(name)
    runs: dict[str, MethodRun] = {}
    for names in groups.values():
        if len(names) == 1:
            runs[names[0]] = run_method(methods[names[0]], names[0], complex_, config)
            continue
        start, start_cpu = time.perf_counter(), cpu_seconds()
        try:
            samples, failure = _call(methods[names[0]].sample, complex_, config.time_cap_s), ""
        except Exception as error:  # the shared stage failed: a miss for every method sharing it
            samples, failure = None, f"sampling: {_failure(error)}"
        spent = Spent(time.perf_counter() - start, cpu_seconds() - start_cpu, tuple(names))
        for name in names:
            if failure:
                record = {"complex": complex_.name, "method": name, "runtime_s": spent.runtime_s, "cpu_s": spent.cpu_s, "error": failure}
                runs[name] = MethodRun(record)
            else:
                runs[name] = run_method(functools.partial(methods[name].finish, samples=samples), name, complex_, config, spent)
    return [runs[name] for name in methods]


@dataclass(frozen=True)
class Selection:
    """The complexes a run covers, and how many of the split's IDs the dataset has."""

    sources: list[ComplexSource]
    requested: int
    missing: list[str]


def select_complexes(config: BenchmarkConfig) -> Selection:
    """The dataset's complexes, restricted to the split (in its order) and the limit."""
    available = {source.name: source for source in discover_complexes(config.data_dir)}
    names = read_ids(config.split) if config.split else sorted(available)
    missing = [name for name in names if name not in available]
    found = [available[name] for name in names if name in available]
    return Selection(found[: config.limit] if config.limit else found, len(names), missing)


def _fingerprint(spec: MethodSpec) -> dict:
    """What each record of a method carries to tell how it was made: its model file's sha256 and
    its physics settings (disco-dock; nothing for Vina)."""
    fingerprint = {"model_sha256": spec.model.sha256} if spec.model else {}
    return fingerprint | ({"physics": spec.physics.to_dict()} if spec.physics else {})


def _recorded_as(recorded, now) -> bool:
    """Whether a record's fingerprint value agrees with the method's now: equal, or absent (a
    record written before it was kept); for physics settings, every setting the record names has
    its value now, and a setting added since that changed what the methods do
    (`config.PHYSICS_BEFORE`) had then the value it has now. Other settings added since are not
    checked: they keep the methods' behaviour before them (as `config.METHOD_PHYSICS` does for
    `energy_check`)."""
    if recorded is None:
        return True
    if isinstance(recorded, dict) and isinstance(now, dict):
        before = {key: value for key, value in PHYSICS_BEFORE.items() if key in now and key not in recorded}
        return all(key in now and now[key] == item for key, item in (recorded | before).items())
    return recorded == now


def _check_same_method(out_dir: Path, done: dict[str, dict[str, dict]], specs: dict[str, MethodSpec]) -> None:
    """DataError when a method's records so far came from another model file or other physics
    settings than its own now (records written before they carried these are not checked)."""
    for name, records in done.items():
        if name not in specs:
            continue
        for key, value in _fingerprint(specs[name]).items():
            others = [record[key] for record in records.values() if not _recorded_as(record.get(key), value)]
            if others:
                what = f"another model file than {specs[name].model.path}" if key == "model_sha256" else "other physics settings"
                raise DataError(_results_file(out_dir, name), f"records from {what}: use another --out or another method name")


def run_benchmark(
    config: BenchmarkConfig,
    methods: dict[str, Method] | None = None,
    log: Callable[[str], None] = functools.partial(print, flush=True),
    specs: dict[str, MethodSpec] | None = None,
) -> dict:
    """Run every method on every selected complex not already done; write and return the summary.

    `specs` defaults to `method_specs(config)`; `methods` overrides the methods made from them
    (tests pass fakes). DataError when a method's earlier records came from another model file or
    other physics settings.
    """
    specs = method_specs(config) if specs is None else specs
    methods = methods if methods is not None else {name: make_method(spec, config) for name, spec in specs.items()}
    selection = select_complexes(config)
    log(f"{len(selection.sources)} complexes ({selection.requested - len(selection.missing)} of {selection.requested} requested found)")
    done = {name: read_records(config.out_dir, name) for name in methods}
    _check_same_method(config.out_dir, done, specs)
    fingerprints = {name: _fingerprint(spec) for name, spec in specs.items()}
    for index, source in enumerate(selection.sources, start=1):
        todo = [name for name in methods if source.name not in done[name]]
        if not todo:
            continue
        try:
            complex_ = load_complex(source, config.seed, config.box_padding)
        except Exception as error:  # unreadable inputs: a miss for every method, with the reason
            reason = f"inputs: {type(error).__name__}: {error}"[:500]
            runs = [MethodRun({"complex": source.name, "method": name, "runtime_s": 0.0, "error": reason}) for name in todo]
        else:
            runs = run_complex({name: methods[name] for name in todo}, complex_, config)
        for run in runs:
            record = run.record | fingerprints.get(run.record["method"], {})
            if run.poses is not None:
                save_poses(config.out_dir, record["method"], source.name, run.poses)
            _append_record(config.out_dir, record)
            top1 = f"top-1 {record['rmsds'][0]:.2f} A" if record.get("rmsds") else record["error"]
            log(f"[{index}/{len(selection.sources)}] {source.name} {record['method']}: {top1}, {record['runtime_s']:.1f} s")
    summary = write_summary(config, selection, list(methods), specs)
    log(summary["markdown"])
    return summary


def machine_info() -> dict:
    """CPU model and cores, Python and torch versions, and the date."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")), cpu)
    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "python": platform.python_version(),
        "torch": torch_version,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def git_commit() -> str | None:
    """The commit of the code that ran (None outside a git checkout)."""
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None


def table_cell(value: float | None, percent: bool = False, digits: int = 2) -> str:
    """A table cell: "-" for no value (none, or NaN: no complex done), else a percentage or a number."""
    if value is None or math.isnan(value):
        return "-"
    return f"{100 * value:.1f} %" if percent else f"{value:.{digits}f}"


def markdown_table(summaries: dict[str, MethodSummary], information_given: dict[str, str]) -> str:
    """The summary table, one row per method ("?" where `information_given` has none)."""
    below, above = (f"{t:g}" for t in THRESHOLDS)
    header = (
        f"| method | information given | N | top-1 <{below} A | top-1 <{above} A | best-of-N <{below} A "
        f"| top-1 <{below} A by Vina score | median top-1 RMSD (A) | PoseBusters-valid top-1 | median s per complex | median CPU s per complex |"
    )
    rows = [header, "|" + " --- |" * 11]
    for method, s in summaries.items():
        rows.append(
            f"| {method} | {information_given.get(method, '?')} | {s.n} | {table_cell(s.top1_below[str(THRESHOLDS[0])], True)} "
            f"| {table_cell(s.top1_below[str(THRESHOLDS[1])], True)} | {table_cell(s.best_of_n_below[str(THRESHOLDS[0])], True)} "
            f"| {table_cell(s.top1_by_vina_score_below and s.top1_by_vina_score_below[str(THRESHOLDS[0])], True)} "
            f"| {table_cell(s.median_top1_rmsd)} | {table_cell(s.posebusters_valid_top1, True)} | {table_cell(s.median_seconds)} "
            f"| {table_cell(s.median_cpu_seconds)} |"
        )
    return "\n".join(rows)


def _method_provenance(spec: MethodSpec | None, records: list[dict]) -> dict:
    """What the summary says about a method: its information, its model file now and (disco-dock)
    how many of its records each model file produced, by sha256 ("not recorded" for old records)."""
    about = {"information_given": spec and spec.information_given, "model": None}
    if spec and spec.model:
        about["model"] = dataclasses.asdict(spec.model)
        about["records_by_model"] = dict(Counter(record.get("model_sha256", "not recorded") for record in records))
    return about


def write_summary(config: BenchmarkConfig, selection: Selection, methods: list[str], specs: dict[str, MethodSpec]) -> dict:
    """Summaries of every method over the selected complexes (and the unseen-protein subset), as
    `summary.json` and `summary.md` in the output folder; returns the JSON content. `specs` gives
    each method's information and model file (methods without one are shown with "?")."""
    names = [source.name for source in selection.sources]
    subsets = {"all": set(names)}
    if config.no_rec_overlap:
        subsets["no_rec_overlap"] = set(read_ids(config.no_rec_overlap)) & set(names)
    for subset in config.subsets:
        subsets[subset.name] = set(read_ids(subset.ids)) & set(names)
    records = {method: read_records(config.out_dir, method) for method in methods}
    information = {name: spec.information_given for name, spec in specs.items()}
    tables, results = [], {}
    for subset, members in subsets.items():
        summaries = {method: summarize([r for name, r in records[method].items() if name in members]) for method in methods}
        results[subset] = {method: dataclasses.asdict(summary) for method, summary in summaries.items()}
        title = {"all": "All complexes", "no_rec_overlap": "Unseen proteins (no receptor overlap with training)"}.get(subset, f"Subset {subset}")
        tables.append(f"### {title} ({len(members)} complexes selected; N = those done)\n\n{markdown_table(summaries, information)}")
    summary = {
        "command": sys.argv,
        "git_commit": git_commit(),
        "machine": machine_info(),
        "config": json.loads(json.dumps(dataclasses.asdict(config), default=str)),
        "methods": {
            method: _method_provenance(specs.get(method), [r for name, r in records[method].items() if name in subsets["all"]])
            for method in methods
        },
        "complexes": {"selected": len(names), "requested": selection.requested, "missing_from_dataset": selection.missing},
        "results": results,
        "markdown": "\n\n".join(tables),
    }
    config.out_dir.mkdir(parents=True, exist_ok=True)
    (config.out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    (config.out_dir / "summary.md").write_text(summary["markdown"] + "\n")
    return summary
