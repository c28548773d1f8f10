"""Speed of disco-dock: `predict`'s wall time per complex against the number of samples, model
loading, peak memory, the score stage's training throughput, and Vina on the same complexes.

* Complexes: the four that ship inside the `posebusters` package (1ia1, 1of6, 1s3v, 1uou).
* predict: pocket mode with the pocket from the reference (crystal) ligand, as
  `disco-dock predict --reference-ligand` does (its centroid, the model's crop radius), with
  `models/disco-dock-pocket.pt`; blind mode with `models/disco-dock-blind.pt` when that file
  exists. Loading a model is timed on its own; then one untimed warm-up call (1 sample, the
  first complex) takes one-time costs (lazy initialisation, CUDA kernels) out of the timings.
  A time covers all that `disco-dock predict` does (`dock`, then `write_result`): reading the
  protein, the ligand's conformer, the graph, sampling, the physics stage (as `--no-refine`,
  `--no-checks`, `--vina-search` set it), ranking and writing the poses. Each run also keeps
  `dock`'s seconds per stage, tabled with what the physics stage adds to the rest of the same
  predictions: a ratio that a loaded machine moves far less than it moves the times.
* Memory: the process's peak resident set size (`ru_maxrss`: the peak of the whole process so
  far) after each phase and, on CUDA, `torch.cuda.max_memory_allocated` within the phase.
  The bounded-memory cases (`memory.MEMORY_CASES`: blind docking with 40 samples on 1of6, and
  with 10 samples on a 5,540-residue protein) each run in a fresh process, beside the figures
  measured before sampling was batched.
* Training: `disco-dock train score`'s code (`training.train`) with the shipped pocket model's
  networks, on the complexes preprocessed into a temporary cache, `train_steps` Adam steps of
  `train_batch` complexes; throughput = complexes per second of the epochs after the first
  (warm-up), from the run's own `seconds_per_step`.
* Vina: the harness's Vina runner (its defaults: exhaustiveness 8, 1 CPU; box = crystal ligand
  + 10 A) on the same complexes, receptor and ligand preparation included, so that disco-dock's
  time can be given as a multiple of Vina's.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib.resources
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from disco_dock.benchmark.cli import fail
from disco_dock.benchmark.config import VINA, BenchmarkConfig
from disco_dock.benchmark.harness import git_commit, machine_info, run_method, table_cell
from disco_dock.benchmark.memory import measure_memory, peak_memory
from disco_dock.benchmark.methods import ModelFile, VinaMethod
from disco_dock.docking.config import BLIND, POCKET, PhysicsConfig, SamplingConfig
from disco_dock.docking.data.discover import ComplexSource, discover_complexes
from disco_dock.docking.data.errors import DataError
from disco_dock.docking.data.redocking import load_complex

if TYPE_CHECKING:
    import torch

Log = Callable[[str], None]


@dataclass(frozen=True)
class SpeedConfig:
    """What the speed benchmark measures, where, and where it writes."""

    out_dir: Path
    """Where `summary.json` and `summary.md` go."""
    samples: tuple[int, ...] = (1, 10, 40)
    """Numbers of samples per complex to time predict with."""
    steps: int = SamplingConfig.steps
    """Reverse-diffusion steps of predict."""
    limit: int | None = None
    """Only the first `limit` of the four complexes."""
    device: str = "auto"
    """Torch device: 'auto' (CUDA when present), 'cpu', 'cuda', ..."""
    vina: bool = True
    """Also time Vina on the same complexes."""
    train_steps: int = 10
    """Adam steps of the score stage to time."""
    train_batch: int = 4
    """Complexes per training step."""
    train_config: Path | None = None
    """A training config file (partial, nested) whose networks the timed score stage uses; None:
    the shipped pocket model's."""
    memory: bool = True
    """Also measure the peak memory of the `MEMORY_CASES`."""
    physics: PhysicsConfig = PhysicsConfig()
    """The physics stage of every timed predict (refinement, Vina's search, validity checks)."""
    seed: int = 0

    def __post_init__(self):
        if not self.samples or min(self.samples) < 1:
            raise ValueError(f"samples {self.samples}: give one or more numbers >= 1")
        for name in ("steps", "train_steps", "train_batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, not {getattr(self, name)}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1, not {self.limit}")


def posebusters_dir() -> Path:
    """The folder of the complexes shipped in the `posebusters` package (Astex/PoseBusters layout)."""
    return Path(str(importlib.resources.files("posebusters") / "datasets" / "pdb"))


def _reset_cuda_peak(device: torch.device) -> None:
    """Start a new CUDA peak-memory window (nothing on a CPU)."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)


def time_predict(mode: str, model_path: Path, sources: list[ComplexSource], config: SpeedConfig, device: torch.device, log: Log) -> dict:
    """Load the model (timed), warm up, then time docking and writing (as `disco-dock predict`) on
    every complex for every number of samples."""
    from disco_dock.docking.bundle import DockingModel
    from disco_dock.docking.dock import dock
    from disco_dock.docking.pocket import pocket_from_options
    from disco_dock.docking.writer import write_result

    start = time.perf_counter()
    model = DockingModel.load(model_path, device)
    load_s = time.perf_counter() - start
    model_file = ModelFile.read(model_path)
    log(f"{mode}: model loaded in {load_s:.2f} s")

    def run(source: ComplexSource, samples: int) -> tuple[float, dict[str, float]]:
        """Seconds of docking and writing, and dock's seconds per stage."""
        pocket = pocket_from_options(model.config.pocket.radius, reference_ligand=source.ligand) if mode == POCKET else None
        sampling = SamplingConfig(samples=samples, steps=config.steps, seed=config.seed)
        with tempfile.TemporaryDirectory(prefix="disco-dock-speed-") as folder:
            begin = time.perf_counter()
            result = dock(source.protein, source.ligand, model, pocket, sampling, device, physics=config.physics)
            write_result(result, folder)
            return time.perf_counter() - begin, result.seconds

    warmup_s, _ = run(sources[0], 1)
    runs, memory = [], []
    for samples in config.samples:
        _reset_cuda_peak(device)
        for source in sources:
            seconds, stages = run(source, samples)
            runs.append({"mode": mode, "samples": samples, "complex": source.name, "seconds": seconds, "stages": stages})
            log(f"{mode}, {samples} samples, {source.name}: {seconds:.2f} s")
        memory.append({"mode": mode, "samples": samples, **peak_memory(device)})
    return {"model": dataclasses.asdict(model_file), "load_s": load_s, "warmup_s": warmup_s, "runs": runs, "memory": memory}


def time_training(sources: list[ComplexSource], config: SpeedConfig, device: torch.device, log: Log) -> dict:
    """Throughput of the score stage (see the module docstring), on the shipped pocket model's
    networks or those of `config.train_config`."""
    from disco_dock.docking.bundle import DockingModel, default_model_path
    from disco_dock.docking.data.preprocess import preprocess_dataset
    from disco_dock.docking.training import METRICS_FILE, RunPaths, read_config_file, train

    if config.train_config is None:
        networks = DockingModel.load(default_model_path(POCKET)).config
    else:
        networks = read_config_file(config.train_config)
    per_step = min(config.train_batch, len(sources))
    steps_per_epoch = math.ceil(len(sources) / per_step)
    epochs = math.ceil(config.train_steps / steps_per_epoch)
    training = {"epochs": epochs, "batch_size": per_step, "validation_complexes": 0, "seed": config.seed}
    with tempfile.TemporaryDirectory(prefix="disco-dock-speed-train-") as folder:
        folder = Path(folder)
        split = folder / "complexes.txt"
        split.write_text("".join(f"{source.name}\n" for source in sources))
        preprocess_dataset(posebusters_dir(), folder / "cache", ids=split, progress=False)
        config_file = folder / "config.json"
        config_file.write_text(json.dumps(networks.replace(training=training).to_dict()))
        _reset_cuda_peak(device)
        train("score", RunPaths(folder / "cache", split, split, folder / "run"), config_file, device=str(device))
        records = [json.loads(line) for line in (folder / "run" / METRICS_FILE).read_text().splitlines() if line.strip()]
    epoch_seconds = [record["seconds_per_step"] * steps_per_epoch for record in records]
    timed = epoch_seconds[1:] or epoch_seconds
    result = {
        "mode": networks.mode,
        "complexes": len(sources),
        "batch_size": per_step,
        "steps": epochs * steps_per_epoch,
        "epoch_seconds": epoch_seconds,
        "complexes_per_second": len(sources) / statistics.mean(timed),
        "seconds_per_step": statistics.mean(timed) / steps_per_epoch,
        **peak_memory(device),
    }
    log(f"training: {result['complexes_per_second']:.2f} complexes/s")
    return result


def time_vina(sources: list[ComplexSource], config: SpeedConfig, log: Log) -> dict:
    """The harness's Vina run (preparation included, its default settings) on every complex:
    the settings, and per complex the seconds and the top-1 RMSD or the error."""
    bench = BenchmarkConfig(data_dir=posebusters_dir(), out_dir=config.out_dir, posebusters=False, seed=config.seed)
    method, runs = VinaMethod(bench), []
    for source in sources:
        record = run_method(method, VINA, load_complex(source, bench.seed, bench.box_padding), bench).record
        top1 = record["rmsds"][0] if record.get("rmsds") else None
        runs.append({"complex": source.name, "seconds": record["runtime_s"], "top1_rmsd": top1, "error": record["error"]})
        log(f"vina, {source.name}: {record['runtime_s']:.2f} s {record['error']}")
    return {"exhaustiveness": bench.vina_exhaustiveness, "cpu": bench.vina_cpu, "runs": runs}


def _physics_text(physics: dict | None) -> str:
    """The timed physics stage in words."""
    if not physics:
        return "none (runs before the physics stage existed)"
    parts = [name for name, on in (("Vina refinement", physics["refine"]), ("Vina search", physics["vina_search"]),
                                   ("PoseBusters checks", physics["check_validity"])) if on]  # fmt: skip
    return ", ".join(parts) or "none"


PHYSICS_STAGES = ("physics", "checks")
"""dock's stages that make up the physics stage: Vina's work, then PoseBusters' checks after the ranking."""


def stage_table(summary: dict) -> list[str]:
    """Markdown lines: mean seconds of each of dock's stages by mode and samples, and what the
    physics stage adds to the rest of the same predictions (a ratio that the machine's load moves
    far less than it moves the times). Empty for summaries without stage times."""
    runs = [run for timing in summary["predict"].values() for run in timing["runs"] if run.get("stages")]
    if not runs:
        return []
    stages = list(dict.fromkeys(stage for run in runs for stage in run["stages"]))
    lines = ["", "| mode | samples | " + " | ".join(f"{stage} (s)" for stage in stages) + " | physics / the rest |", "| --- | --- |" + " --- |" * (len(stages) + 1)]
    for mode, samples in dict.fromkeys((run["mode"], run["samples"]) for run in runs):
        group = [run for run in runs if (run["mode"], run["samples"]) == (mode, samples)]
        means = [statistics.mean(run["stages"].get(stage, 0.0) for run in group) for stage in stages]
        physics = statistics.mean(sum(run["stages"].get(stage, 0.0) for stage in PHYSICS_STAGES) for run in group)
        rest = statistics.mean(run["seconds"] for run in group) - physics
        lines.append(f"| {mode} | {samples} | " + " | ".join(table_cell(mean) for mean in means) + f" | {table_cell(physics / rest, percent=True)} |")
    return lines


def speed_markdown(summary: dict) -> str:
    """The tables of a speed summary: predict per complex by mode and samples (against Vina),
    then model loading, Vina and training."""
    vina_runs = summary["vina"]["runs"] if summary["vina"] else []
    vina = [run["seconds"] for run in vina_runs if not run["error"]]
    vina_mean = statistics.mean(vina) if vina else None
    machine = summary["machine"]
    lines = [
        f"Device {machine['device']}; CPU {machine['cpu']} ({machine['cores']} cores, OMP_NUM_THREADS={machine['omp_num_threads']}); "
        f"torch {machine['torch']}; {len(summary['complexes'])} complexes ({', '.join(summary['complexes'])}); "
        f"{summary['config']['steps']} steps; physics stage: {_physics_text(summary['config'].get('physics'))}.",
        "",
        "| mode | samples | mean s per complex | slowest complex (s) | time / Vina's | peak RSS (MiB) | peak CUDA memory (MiB) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for mode, timing in summary["predict"].items():
        for memory in timing["memory"]:
            times = [run["seconds"] for run in timing["runs"] if run["samples"] == memory["samples"]]
            ratio = statistics.mean(times) / vina_mean if vina_mean else None
            lines.append(
                f"| {mode} | {memory['samples']} | {table_cell(statistics.mean(times))} | {table_cell(max(times))} | {table_cell(ratio)} "
                f"| {table_cell(memory['max_rss_mib'], digits=0)} | {table_cell(memory['cuda_max_allocated_mib'], digits=0)} |"
            )
    lines += stage_table(summary)
    lines += ["", "| measured | value |", "| --- | --- |"]
    for mode, timing in summary["predict"].items():
        lines.append(f"| load {Path(timing['model']['path']).name} ({mode}) | {table_cell(timing['load_s'])} s |")
        lines.append(f"| first predict call ({mode}, 1 sample, warm-up, not above) | {table_cell(timing['warmup_s'])} s |")
    if summary["vina"]:
        failed = len(vina_runs) - len(vina)
        counted = f"{len(vina)} complexes" + (f", {failed} failed" if failed else "")
        lines.append(
            f"| Vina (exhaustiveness {summary['vina']['exhaustiveness']}, {summary['vina']['cpu']} CPU), "
            f"mean s per complex | {table_cell(vina_mean)} s ({counted}) |"
        )
    if summary.get("memory"):
        lines += ["", "| bounded memory (fresh process each) | s | peak RSS (MiB) | peak CUDA memory (MiB) | before batching |", "| --- | --- | --- | --- | --- |"]
        lines += [
            f"| {row['label']} | {table_cell(row['seconds'])} | {table_cell(row['max_rss_mib'], digits=0)} "
            f"| {table_cell(row['cuda_max_allocated_mib'], digits=0)} | {row['before_batching']} |"
            for row in summary["memory"]
        ]
        lines.append("")
    training = summary["training"]
    memory = f"peak RSS {table_cell(training['max_rss_mib'], digits=0)} MiB"
    if training["cuda_max_allocated_mib"] is not None:
        memory += f", peak CUDA {table_cell(training['cuda_max_allocated_mib'], digits=0)} MiB"
    lines.append(
        f"| score-stage training ({training['mode']}, {summary['config'].get('train_config') or 'shipped pocket model'}, "
        f"batches of {training['batch_size']}, {training['steps']} steps) "
        f"| {table_cell(training['complexes_per_second'])} complexes/s ({table_cell(training['seconds_per_step'])} s per step, "
        f"first epoch left out); {memory} |"
    )
    return "\n".join(lines)


def run_speed(config: SpeedConfig, log: Log = functools.partial(print, flush=True)) -> dict:
    """Measure everything (see the module docstring); write `summary.json` and `summary.md`; return
    the summary. DataError when the pocket model does not load; ValueError for a device that is not there."""
    import torch

    from disco_dock.core.training import pick_device
    from disco_dock.docking.bundle import default_model_path

    device = pick_device(config.device)
    if device.type == "cuda":
        torch.zeros(1, device=device)  # the CUDA context, out of the first timing
    sources = discover_complexes(posebusters_dir())[: config.limit]
    predict = {}
    for mode in (POCKET, BLIND):
        path = default_model_path(mode)
        if mode == BLIND and not path.is_file():
            log(f"note: no {path}: blind mode skipped")
            continue
        predict[mode] = time_predict(mode, path, sources, config, device, log)
    summary = {
        "command": sys.argv,
        "git_commit": git_commit(),
        "machine": machine_info() | {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"},
        "config": json.loads(json.dumps(dataclasses.asdict(config), default=str)),
        "complexes": [source.name for source in sources],
        "predict": predict,
        "memory": measure_memory(posebusters_dir(), config.steps, config.seed, config.device, log) if config.memory and default_model_path(BLIND).is_file() else None,
        "training": time_training(sources, config, device, log),
        "vina": time_vina(sources, config, log) if config.vina else None,
    }
    summary["markdown"] = speed_markdown(summary)
    config.out_dir.mkdir(parents=True, exist_ok=True)
    (config.out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    (config.out_dir / "summary.md").write_text(summary["markdown"] + "\n")
    log(summary["markdown"])
    return summary


def parse_samples(text: str) -> tuple[int, ...]:
    """"1,10,40" as numbers; ValueError otherwise."""
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"--samples-list {text!r}: expected comma-separated whole numbers, e.g. 1,10,40") from None


def main(argv: list[str] | None, default_out: Path) -> None:
    """Command line of `benchmarks/speed.py`; bad input: one line on stderr, exit status 2."""
    parser = argparse.ArgumentParser(
        description="Wall time, memory and training throughput of disco-dock, and Vina's time, on posebusters' four complexes."
    )
    parser.add_argument("--device", default="auto", help="'auto' (CUDA when present), 'cpu', 'cuda', 'cuda:1', ...")
    default_samples = ",".join(map(str, SpeedConfig.samples))
    parser.add_argument("--samples-list", default=default_samples, help="samples per complex to time (default %(default)s)")
    parser.add_argument("--steps", type=int, default=SpeedConfig.steps, help="reverse-diffusion steps (default %(default)s)")
    parser.add_argument("--limit", type=int, help="only the first K of the four complexes")
    parser.add_argument("--train-steps", type=int, default=SpeedConfig.train_steps, help="score-stage steps to time (default %(default)s)")
    parser.add_argument("--train-batch", type=int, default=SpeedConfig.train_batch, help="complexes per training step (default %(default)s)")
    parser.add_argument("--skip-vina", action="store_true", help="do not time Vina")
    parser.add_argument("--skip-memory", action="store_true", help="do not measure the bounded-memory cases (blind, 1of6)")
    parser.add_argument("--train-config", type=Path, help="time the score stage with this config's networks (default: the shipped pocket model's)")
    parser.add_argument("--no-refine", action="store_true", help="time predict without Vina refinement")
    parser.add_argument("--no-checks", action="store_true", help="time predict without PoseBusters checks")
    parser.add_argument("--vina-search", action="store_true", help="time predict with Vina's search poses as candidates")
    parser.add_argument("--out", type=Path, default=default_out, help=f"output folder (default: {default_out})")
    args = parser.parse_args(argv)
    from disco_dock.core.training import pick_device

    try:
        config = SpeedConfig(
            out_dir=args.out, samples=parse_samples(args.samples_list), steps=args.steps, limit=args.limit, device=args.device,
            vina=not args.skip_vina, memory=not args.skip_memory, train_steps=args.train_steps, train_batch=args.train_batch,
            physics=PhysicsConfig(refine=not args.no_refine, check_validity=not args.no_checks, vina_search=args.vina_search),
            train_config=args.train_config,
        )  # fmt: skip
        pick_device(config.device)
    except ValueError as error:
        fail(error)
    try:
        run_speed(config)
    except DataError as error:
        fail(error)
