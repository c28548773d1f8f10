"""What `disco-dock predict` and `disco-dock demo` do between parsing options and printing:
inputs checked before any model is loaded, models chosen by docking mode and loaded once, one
complex docked and written with its run record, and the demo on a complex shipped with posebusters.
"""

from __future__ import annotations

import importlib.resources
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from disco_dock.docking.config import BLIND, POCKET, PhysicsConfig, PocketConfig, SamplingConfig
from disco_dock.docking.data.errors import DataError
from disco_dock.docking.data.ligand import Ligand, docking_ligand, read_ligand
from disco_dock.docking.data.protein import Receptor, read_protein
from disco_dock.docking.pocket import Pocket, docking_mode, pocket_from_options
from disco_dock.docking.writer import prepare_folder

POSEBUSTERS_COMPLEXES = ("1ia1", "1of6", "1s3v", "1uou")
"""The complexes that ship inside the `posebusters` package (the demo docks one of them)."""


@dataclass(frozen=True)
class PocketOptions:
    """The pocket as given on the command line (at most one of box, centre, reference ligand)."""

    box: Path | None = None
    centre: str | None = None
    radius: float | None = None
    reference_ligand: Path | None = None

    @property
    def mode(self) -> str:
        """The docking mode these options ask for (`docking_mode`)."""
        return docking_mode(pocket_given=bool(self.box or self.centre or self.reference_ligand))

    def pocket(self, model_radius: float) -> Pocket | None:
        """The pocket, with `model_radius` as the crop radius unless one was given; DataError on bad options."""
        return pocket_from_options(model_radius, self.box, self.centre, self.radius, self.reference_ligand)


@dataclass(frozen=True)
class CheckedInputs:
    """One complex's inputs, read and checked: the receptor, the ligand and the output folder."""

    receptor: Receptor
    ligand: Ligand
    out: Path


def check_inputs(protein: Path, ligand: str, pocket: PocketOptions, out: Path, overwrite: bool) -> CheckedInputs:
    """Read and check everything a single run needs before a model is loaded: the pocket options
    (with the default crop radius), the ligand (`docking_ligand`), the protein and the output folder
    (`prepare_folder`, which clears an earlier run's files with `overwrite`). DataError on the first problem."""
    pocket.pocket(PocketConfig.radius)
    checked_ligand = docking_ligand(ligand)
    receptor = read_protein(protein)
    return CheckedInputs(receptor, checked_ligand, prepare_folder(out, overwrite))


class Models:
    """The docking models of a run, by mode, each loaded on first use: `checkpoint` for every
    mode when given, else the shipped `models/disco-dock-{mode}.pt`."""

    def __init__(self, checkpoint: Path | None, device: object):
        self.checkpoint, self.device, self.loaded = checkpoint, device, {}

    def path(self, mode: str) -> Path:
        """The model file for `mode`."""
        from disco_dock.docking.bundle import default_model_path

        return self.checkpoint or default_model_path(mode)

    def check(self, modes: set[str]) -> None:
        """DataError, before anything is loaded, when a model file for one of `modes` is missing."""
        for mode in sorted(modes):
            path = self.path(mode)
            if not path.is_file():
                how = f"train one with `disco-dock train` ({mode} mode) and save it there, or give --checkpoint"
                raise DataError(path, "file not found" if self.checkpoint else f"no trained model here: {how}")

    def __call__(self, mode: str):
        """The model for `mode` (a `DockingModel`), loaded once."""
        from disco_dock.docking.bundle import DockingModel

        path = self.path(mode)
        if path not in self.loaded:
            self.loaded[path] = DockingModel.load(path, self.device)
        return self.loaded[path]


def run_record(models: Models, sampling: SamplingConfig, physics: PhysicsConfig, device: object) -> dict:
    """The part of `run.json` a command knows: the command line, model files, settings and device."""
    return {
        "command": sys.argv,
        "models": {mode: str(models.path(mode)) for mode in (BLIND, POCKET)} if models.checkpoint is None else str(models.checkpoint),
        "sampling": sampling.to_dict(),
        "physics": physics.to_dict(),
        "device": str(device),
    }


def predict_single(
    inputs: CheckedInputs,
    pocket: PocketOptions,
    models: Models,
    sampling: SamplingConfig,
    physics: PhysicsConfig,
    name: str,
    hydrogens: bool = False,
    progress: Callable[[str], None] | None = None,
    warnings_seen: list[str] | None = None,
):
    """Dock one checked complex with the model of its mode and write it into `inputs.out`
    (`write_result`, with the run record and `warnings_seen` in run.json); the `DockingResult`."""
    from disco_dock.docking.dock import dock
    from disco_dock.docking.writer import write_result

    model = models(pocket.mode)
    result = dock(
        inputs.receptor,
        inputs.ligand.mol,
        model,
        pocket.pocket(model.config.pocket.radius),
        sampling,
        models.device,
        name,
        physics,
        progress,
    )
    record = {**run_record(models, sampling, physics, models.device), "warnings": list(warnings_seen or [])}
    write_result(result, inputs.out, hydrogens, record)
    return result


def posebusters_files(name: str) -> tuple[Path, Path]:
    """The protein and crystal ligand files of a complex shipped with posebusters (`POSEBUSTERS_COMPLEXES`)."""
    if name not in POSEBUSTERS_COMPLEXES:
        raise DataError(name, f"not a complex shipped with posebusters (choose one of {', '.join(POSEBUSTERS_COMPLEXES)})")
    folder = Path(str(importlib.resources.files("posebusters") / "datasets" / "pdb" / name))
    return folder / f"{name}_protein_one_lig_removed.pdb", folder / f"{name}_ligand.sdf"


def top1_rmsd(result, crystal: Path) -> float:
    """Symmetry-corrected heavy-atom RMSD (A) of `result`'s top pose to the crystal ligand in `crystal`."""
    from disco_dock.docking.data.ligand import heavy_positions_in_reference_order
    from disco_dock.docking.rmsd import pose_rmsds

    reference = read_ligand(crystal).mol
    pose = heavy_positions_in_reference_order(result.poses[0].mol, reference)[0]
    return pose_rmsds(reference, np.asarray([pose])).values[0]
