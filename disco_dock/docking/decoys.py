"""Candidate poses of training complexes, labelled by their RMSD to the crystal pose: the data a
pose-ranking (confidence) model learns from (`disco-dock decoys`).

For each complex of a dataset folder (optionally restricted to a split file):

* the starting conformer and search box are the benchmark's (`docking.data.redocking.load_complex`:
  a seeded ETKDG conformer of the crystal ligand's molecule, the box around the crystal ligand
  grown by `box_padding` per axis), so training candidates look like the benchmark's;
* Vina's Monte-Carlo search from that conformer gives up to `num_poses` poses (source "vina"),
  and Vina's local optimisation of the crystal pose one near-native pose (source "crystal-refined");
* with a model, `diffusion_samples` poses docked by it into the box and refined by Vina, as
  `predict` makes them (source "diffusion"): the ranker then learns from the candidates it will rank;
* every pose gets its Vina score and its symmetry-corrected heavy-atom RMSD to the crystal pose.

Each complex is written to `OUT/<name>.npz` (positions (K, N, 3) in the crystal ligand's atom
order, which is the preprocessed graph's, scores, RMSDs, sources, and the settings as JSON), by
a child process with a CPU-time cap (`core.capped`); a complex over the cap or failing is listed in `failures.csv`
and counted as a miss. Complexes already in OUT are skipped, so an interrupted run resumes.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from disco_dock.core.capped import CappedCallError, call_capped
from disco_dock.core.config import Settings
from disco_dock.core.files import replacing, sha256_of
from disco_dock.core.training import progress
from disco_dock.docking.bundle import DockingModel
from disco_dock.docking.config import POCKET, PhysicsConfig, SamplingConfig
from disco_dock.docking.data.discover import ComplexSource, discover_complexes, read_ids
from disco_dock.docking.data.errors import DataError
from disco_dock.docking.data.ligand import heavy_positions_in_reference_order
from disco_dock.docking.data.redocking import RedockingComplex, load_complex
from disco_dock.docking.physics import VinaPocket, import_libraries
from disco_dock.docking.pocket import BOX_PADDING, Pocket
from disco_dock.docking.results import DockedPose
from disco_dock.docking.rmsd import pose_rmsds

FAILURES_FILE = "failures.csv"
VINA, CRYSTAL_REFINED, DIFFUSION = "vina", "crystal-refined", "diffusion"
CANDIDATE_SOURCES = (VINA, DIFFUSION)
"""The sources of the poses a ranker picks from (the refined crystal pose is not one)."""


@dataclass(frozen=True)
class DecoyConfig(Settings):
    """How candidate poses are made."""

    exhaustiveness: int = 4
    """Vina's search effort (its default is 8; 4 halves the time and still finds most binding modes)."""
    num_poses: int = 20
    """At most this many Vina poses per complex (all kept, whatever their score, but those with a
    broken bond: `physics.pocket.intact_poses`)."""
    box_padding: float = BOX_PADDING
    """Box edge = the crystal ligand's extent + this (A, per axis), as the benchmark's boxes."""
    time_cap_s: float = 120.0
    """A complex taking more CPU seconds is abandoned and listed as a failure."""
    seed: int = 0
    """Seed of the starting conformer and of the diffusion samples; Vina gets seed + 1 (it reads 0
    as "pick one at random")."""
    diffusion_samples: int = 10
    """Poses docked by the model per complex, each refined by Vina (only when a model is given)."""
    refine_steps: int = PhysicsConfig.refine_steps
    """Steps of Vina's local optimisation of the crystal pose and of the model's samples at most."""


@dataclass(frozen=True)
class ComplexDecoys:
    """The labelled candidate poses of one complex."""

    name: str
    positions: np.ndarray
    """(K, N, 3) heavy-atom positions in the crystal ligand's atom order."""
    scores: np.ndarray
    """(K,) Vina scores (kcal/mol)."""
    rmsds: np.ndarray
    """(K,) symmetry-corrected RMSDs to the crystal pose (A)."""
    sources: tuple[str, ...]
    seconds: float


def complex_decoys(source: ComplexSource, config: DecoyConfig, model: DockingModel | None = None) -> ComplexDecoys:
    """Vina's search poses, the refined crystal pose and (with `model`) refined diffusion samples
    of one complex, labelled (see the module docstring)."""
    start = time.perf_counter()
    inputs = load_complex(source, config.seed, config.box_padding)
    pocket = VinaPocket.prepare(inputs.protein, inputs.box, seed=config.seed + 1, ligand=inputs.start)  # Vina reads seed 0 as random
    found = pocket.search(inputs.start, config.exhaustiveness, config.num_poses)
    crystal = pocket.refine(inputs.crystal.mol, config.refine_steps)
    positions = [mol.GetConformer().GetPositions() for mol in [pose.mol for pose in found] + [crystal.mol]]
    scores = [pose.score for pose in found] + [crystal.score]
    sources = [VINA] * len(found) + [CRYSTAL_REFINED]
    if model is not None and config.diffusion_samples > 0:
        sampled = diffusion_poses(inputs, model, config)
        positions += [heavy_positions_in_reference_order(pose.mol, inputs.crystal.mol)[0] for pose in sampled]
        scores += [pose.vina_score for pose in sampled]
        sources += [DIFFUSION] * len(sampled)
    positions = np.stack(positions).astype(np.float32)
    return ComplexDecoys(
        name=source.name,
        positions=positions,
        scores=np.array(scores, dtype=np.float32),
        rmsds=np.array(pose_rmsds(inputs.crystal.mol, positions).values, dtype=np.float32),
        sources=tuple(sources),
        seconds=time.perf_counter() - start,
    )


def diffusion_poses(inputs: RedockingComplex, model: DockingModel, config: DecoyConfig) -> tuple[DockedPose, ...]:
    """`config.diffusion_samples` poses docked by `model` into the complex's box and refined by
    Vina, as `predict` makes them (no validity checks, no Vina search)."""
    from disco_dock.docking.dock import dock

    pocket = Pocket.from_box(inputs.box, model.config.pocket.radius)
    sampling = SamplingConfig(samples=config.diffusion_samples, seed=config.seed)
    physics = PhysicsConfig(refine=True, refine_steps=config.refine_steps, vina_search=False, check_validity=False, vinardo=False, rank_by="sample")
    return dock(inputs.protein, inputs.start, model, pocket, sampling, name=inputs.name, physics=physics).poses


def decoy_path(out: Path, name: str) -> Path:
    """Where the decoys of complex `name` are stored."""
    return out / f"{name}.npz"


def save_decoys(decoys: ComplexDecoys, out: Path, config: DecoyConfig, model: ModelStamp | None = None) -> None:
    """Write one complex's decoys atomically (a temporary file, then a rename), with the settings
    and the model (if any) that made them."""
    meta = {"name": decoys.name, "seconds": decoys.seconds, "config": asdict(config), "model": asdict(model) if model else None}
    with replacing(decoy_path(out, decoys.name)) as temporary, temporary.open("wb") as handle:
        np.savez_compressed(
            handle, positions=decoys.positions, scores=decoys.scores, rmsds=decoys.rmsds,
            sources=np.array(decoys.sources), meta=np.array(json.dumps(meta)),
        )  # fmt: skip


def decoys_model(path: Path) -> str | None:
    """The sha256 of the model whose samples the decoys at `path` hold (None: made without one)."""
    with np.load(path) as stored:
        model = json.loads(str(stored["meta"])).get("model")
    return model["sha256"] if model else None


def load_decoys(path: Path) -> ComplexDecoys:
    """The decoys stored at `path` by `save_decoys`."""
    with np.load(path) as stored:
        meta = json.loads(str(stored["meta"]))
        sources = tuple(str(source) for source in stored["sources"])
        return ComplexDecoys(meta["name"], stored["positions"], stored["scores"], stored["rmsds"], sources, meta["seconds"])


@dataclass(frozen=True)
class ModelStamp:
    """Which model file made a complex's diffusion samples."""

    path: str
    sha256: str

    @classmethod
    def of(cls, path: Path) -> ModelStamp:
        """The stamp of the model file at `path`."""
        return cls(str(path), sha256_of(path))


def run_capped(
    source: ComplexSource, out: Path, config: DecoyConfig, model: DockingModel | None = None, stamp: ModelStamp | None = None
) -> str | None:
    """Make and save one complex's decoys in a child process within the time cap; the failure
    reason, or None."""
    try:
        decoys = call_capped(complex_decoys, source, config, model, seconds=config.time_cap_s)
    except CappedCallError as error:
        return str(error)
    try:
        save_decoys(decoys, out, config, stamp)
    except OSError as error:
        return f"saving the decoys: {error}"
    return None


@dataclass(frozen=True)
class DecoySummary:
    """What a `generate_decoys` run did."""

    total: int
    done_before: int
    made: int
    failures: dict[str, str]
    """This run's failures, with reasons."""
    failed_before: int
    """Complexes skipped because an earlier run failed on them."""

    def text(self) -> str:
        """One line for the terminal."""
        return (
            f"{self.done_before + self.made}/{self.total} complexes with decoys: {self.made} made now, "
            f"{self.done_before} there before, {len(self.failures)} failed now, {self.failed_before} failed before"
        )


def _failed_names(path: Path) -> list[str]:
    """The complexes listed in a failures file (none when there is no file)."""
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return [row["name"] for row in csv.DictReader(handle)]


def generate_decoys(
    data: Path,
    out: Path,
    config: DecoyConfig = DecoyConfig(),
    ids: Path | None = None,
    retry_failures: bool = False,
    model_file: Path | None = None,
) -> DecoySummary:
    """Decoys for every complex of `data` (or of the split file `ids`) not yet in `out`, with the
    refined samples of the pocket model in `model_file` when it is given; failures (with reasons)
    appended to `out/failures.csv` and not tried again unless `retry_failures`. DataError for a
    bad dataset, split or model file; ValueError for a model that does not dock in pocket mode,
    or an `out` holding decoys made with another model (or none)."""
    model = DockingModel.load(model_file) if model_file is not None else None  # on the CPU: workers are forked
    if model is not None and model.config.mode != POCKET:
        raise ValueError(f"decoys dock into the crystal ligand's box: give a pocket model, not a {model.config.mode} one")
    stamp = ModelStamp.of(model_file) if model_file is not None else None
    import_libraries()  # once here, not in every worker process
    sources = discover_complexes(data)
    if ids is not None:
        wanted = set(read_ids(ids))
        sources = [source for source in sources if source.name in wanted]
        if not sources:
            raise DataError(ids, f"none of its complexes is in {data}")
    out.mkdir(parents=True, exist_ok=True)
    failed_before = set(_failed_names(out / FAILURES_FILE)) if not retry_failures else set()
    done = {source.name for source in sources if decoy_path(out, source.name).is_file()}
    models = {name: decoys_model(decoy_path(out, name)) for name in done}
    other = sorted(name for name, model in models.items() if model != (stamp.sha256 if stamp else None))
    if other:
        made = "another model" if stamp is None or any(models[name] for name in other) else "no model"
        raise ValueError(f"{out} holds decoys of {len(other)} complexes made with {made} (e.g. {other[0]}): use another --out")
    todo = [source for source in sources if source.name not in done | failed_before]
    failures: dict[str, str] = {}
    new_file = not (out / FAILURES_FILE).is_file()
    with (out / FAILURES_FILE).open("a", newline="") as handle:
        writer = csv.writer(handle)
        if new_file:
            writer.writerow(["name", "reason"])
        for source in progress(todo, desc="decoys"):
            reason = run_capped(source, out, config, model, stamp)
            if reason is not None:
                failures[source.name] = reason
                writer.writerow([source.name, reason])
                handle.flush()
    return DecoySummary(len(sources), len(done), len(todo) - len(failures), failures, len(failed_before))
