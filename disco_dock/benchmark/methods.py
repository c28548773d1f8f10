"""The methods a benchmark runs: AutoDock Vina, and disco-dock with a model file and a physics setting.

disco-dock's methods by name (`config.METHOD_PHYSICS`): the learned model alone
(disco-dock-blind, disco-dock-pocket), with Vina refinement and validity checks ranked by Vina's
score (disco-dock-pocket-refined), and with Vina's search poses added to the candidates
(disco-dock-pocket-vina); a `--variant` runs a model file as the learned model alone.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from disco_dock.benchmark.config import DISCO_BLIND, LEARNED_ONLY, METHOD_PHYSICS, VINA, BenchmarkConfig
from disco_dock.core.files import sha256_of
from disco_dock.docking.config import BLIND, POCKET, PhysicsConfig
from disco_dock.docking.data.ligand import heavy_positions_in_reference_order
from disco_dock.docking.data.redocking import RedockingComplex

if TYPE_CHECKING:
    from disco_dock.docking.dock import Samples


@dataclass(frozen=True)
class ModelFile:
    """A disco-dock model bundle that loads: where it is, its docking mode and its fingerprint."""

    path: Path
    mode: str
    """The mode the bundle was trained for (its config's)."""
    sha256: str
    size_bytes: int
    modified: str
    """Last modification time (UTC, ISO 8601)."""

    @classmethod
    def read(cls, path: Path) -> "ModelFile":
        """Load the bundle at `path` (DataError naming the file when it cannot be) and fingerprint it."""
        from disco_dock.docking.bundle import DockingModel

        mode = DockingModel.load(path).config.mode
        stat = Path(path).stat()
        modified = datetime.datetime.fromtimestamp(stat.st_mtime, datetime.timezone.utc).isoformat(timespec="seconds")
        return cls(Path(path), mode, sha256_of(path), stat.st_size, modified)


@dataclass(frozen=True)
class MethodSpec:
    """One method of a run: its name, the docking mode it is run in and (disco-dock) its model."""

    name: str
    mode: str
    model: ModelFile | None = None
    """None for Vina."""
    physics: PhysicsConfig | None = None
    """disco-dock's physics stage (None for Vina)."""

    @property
    def information_given(self) -> str:
        """What the method is told about the binding site (the table's column)."""
        return "blind" if self.mode == BLIND else "pocket box"


def method_specs(config: BenchmarkConfig, skip_missing_variants: bool = False) -> dict[str, MethodSpec]:
    """The run's methods by name: `config.methods` (disco-dock-blind/-pocket with `config.model`
    or the packaged model of their mode), then each variant in its bundle's mode. DataError when
    a model file is missing or does not load; with `skip_missing_variants` (for summarising old
    records) a variant whose file is gone is left out instead."""
    from disco_dock.docking.bundle import default_model_path

    specs = {}
    for name in config.methods:
        if name == VINA:
            specs[name] = MethodSpec(name, POCKET)
        else:
            mode = BLIND if name == DISCO_BLIND else POCKET
            physics = METHOD_PHYSICS[name].replace(vina_exhaustiveness=config.search_exhaustiveness, vina_poses=config.vina_poses, vina_cpu=config.vina_cpu)
            specs[name] = MethodSpec(name, mode, ModelFile.read(config.model or default_model_path(mode)), physics)
    for variant in config.variants:
        if skip_missing_variants and not Path(variant.model).is_file():
            continue
        model = ModelFile.read(variant.model)
        specs[variant.name] = MethodSpec(variant.name, model.mode, model, LEARNED_ONLY)
    return specs


@dataclass(frozen=True)
class MethodOutput:
    """A method's poses of one complex, best first."""

    poses: np.ndarray
    """(K, N, 3) heavy-atom positions in the crystal ligand's atom order."""
    scores: list[float]
    """The method's own score per pose (Vina kcal/mol, disco-dock confidence)."""
    notes: str = ""
    details: dict[str, list] = field(default_factory=dict)
    """More per-pose values, by name (disco-dock: source, Vina score, PoseBusters verdict)."""


Method = Callable[[RedockingComplex], MethodOutput]
"""Docks one complex; raises on failure."""


@runtime_checkable
class StagedMethod(Protocol):
    """A method that is `finish(complex, samples=sample(complex))`: methods with the same
    `sampling_key` make the same samples, so a run makes them once for all (`harness.run_complex`)."""

    sampling_key: Hashable

    def __call__(self, complex_: RedockingComplex) -> MethodOutput: ...

    def sample(self, complex_: RedockingComplex) -> Any: ...

    def finish(self, complex_: RedockingComplex, samples: Any) -> MethodOutput: ...


class VinaMethod:
    """AutoDock Vina in the complex's box."""

    def __init__(self, config: BenchmarkConfig):
        from disco_dock.docking.physics import import_libraries

        self.config = config
        import_libraries()

    def __call__(self, complex_: RedockingComplex) -> MethodOutput:
        """Vina's poses and scores."""
        from disco_dock.benchmark.vina import dock_with_vina

        result = dock_with_vina(complex_, self.config)
        return MethodOutput(result.poses, result.scores, result.notes)


class DiscoDockMethod:
    """disco-dock through `disco_dock.docking.dock` (`sample`, then `finish` with this method's
    physics: a `StagedMethod`), given the starting molecule in memory: blind, or into the
    complex's box (`Pocket.from_box`: pocket centre = box centre, crop radius = half the box
    diagonal, at least the model's radius). dock embeds its own seeded conformer of
    the given ligand. The model and the docking code are loaded when the method is made, so that
    calls in child processes (`BenchmarkConfig.time_cap_s`) find them loaded."""

    def __init__(self, config: BenchmarkConfig, spec: MethodSpec):
        import disco_dock.docking.dock  # noqa: F401  (imported here, before any child process)
        from disco_dock.docking.bundle import DockingModel
        from disco_dock.docking.physics import import_libraries

        self.config = config
        self.mode = spec.mode
        self.physics = spec.physics
        self.model = DockingModel.load(spec.model.path, device=config.device)
        self.sampling_key = (spec.model.sha256, spec.mode, config.samples, config.steps, config.seed, config.device)  # alike samples
        if self.physics.uses_vina or self.physics.check_validity:
            import_libraries()

    def __call__(self, complex_: RedockingComplex) -> MethodOutput:
        """disco-dock's ranked poses and confidences."""
        return self.finish(complex_, self.sample(complex_))

    def sample(self, complex_: RedockingComplex) -> Samples:
        """The diffusion samples of one complex, before the physics stage (`dock.sample`)."""
        from disco_dock.docking.config import SamplingConfig
        from disco_dock.docking.dock import sample
        from disco_dock.docking.pocket import Pocket

        pocket = Pocket.from_box(complex_.box, self.model.config.pocket.radius) if self.mode == POCKET else None
        sampling = SamplingConfig(samples=self.config.samples, steps=self.config.steps, seed=self.config.seed)
        return sample(complex_.protein, complex_.start, self.model, pocket, sampling, self.config.device, complex_.name)

    def finish(self, complex_: RedockingComplex, samples: Samples) -> MethodOutput:
        """`samples` through this method's physics stage and ranking (`dock.finish`)."""
        from disco_dock.docking.dock import finish

        result = finish(samples, self.model, self.physics)
        poses = [heavy_positions_in_reference_order(pose.mol, complex_.crystal.mol)[0] for pose in result.poses]
        details = {
            "sources": [pose.source for pose in result.poses],
            "vina_scores": [pose.vina_score for pose in result.poses],
            "vinardo_scores": [pose.vinardo_score for pose in result.poses],
            "valid": [pose.valid for pose in result.poses],
            "flags": [pose.flag for pose in result.poses],
        }
        return MethodOutput(np.stack(poses), result.confidences.tolist(), details=details)


def make_method(spec: MethodSpec, config: BenchmarkConfig) -> Method:
    """The method `spec` describes: Vina, or disco-dock with its model."""
    return VinaMethod(config) if spec.model is None else DiscoDockMethod(config, spec)
