"""The Python API, exported as `disco_dock.dock` and `disco_dock.write`:

    import disco_dock
    result = disco_dock.dock("protein.pdb", "CCOc1ccccc1", pocket=(10.1, 2.5, -3.0), samples=10)
    for pose in result.poses:
        print(pose.rank, pose.confidence, pose.vina_score, pose.flag)  # pose.mol: an RDKit molecule
    disco_dock.write(result, "poses/")

`dock` picks and loads the shipped model of the docking mode (or the one given) and computes the
`DockingResult` in memory; `write` writes it as `disco-dock predict` does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from rdkit import Chem

from disco_dock.docking.config import PhysicsConfig, PocketConfig, SamplingConfig
from disco_dock.docking.data.ligand import LIGAND_SUFFIXES
from disco_dock.docking.data.protein import Receptor
from disco_dock.docking.pocket import Box, Pocket, pocket_from_options
from disco_dock.docking.results import DockingResult
from disco_dock.docking.writer import prepare_folder, write_result

PocketSpec = Pocket | Box | Sequence[float] | str | Path | None
"""A pocket: None (blind docking), a `Pocket`, a `Box`, a centre (x, y, z) in A, or a path to a
Vina box JSON file or to a reference ligand file."""


def as_pocket(pocket: PocketSpec, radius: float = PocketConfig.radius) -> Pocket | None:
    """The `Pocket` of any `PocketSpec`; `radius` is the crop radius of a centre or a ligand."""
    if pocket is None or isinstance(pocket, Pocket):
        return pocket
    if isinstance(pocket, Box):
        return Pocket.from_box(pocket, radius)
    if isinstance(pocket, (str, Path)):
        is_ligand = Path(pocket).suffix.lower() in LIGAND_SUFFIXES
        return pocket_from_options(radius, box=None if is_ligand else pocket, reference_ligand=pocket if is_ligand else None)
    x, y, z = (float(value) for value in pocket)
    return Pocket((x, y, z), radius)


def dock(
    protein: str | Path | Receptor,
    ligand: str | Path | Chem.Mol,
    pocket: PocketSpec = None,
    samples: int = SamplingConfig.samples,
    *,
    model: str | Path | None = None,
    device: str = "auto",
    seed: int = SamplingConfig.seed,
    name: str | None = None,
    sampling: SamplingConfig | None = None,
    physics: PhysicsConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> DockingResult:
    """Dock `ligand` (a file, a SMILES string or an RDKit molecule) into `protein` (a PDB/mmCIF
    file or a `Receptor`): the ranked poses with their RDKit molecules and scores, in memory.

    `pocket`: see `PocketSpec` (None docks blind). `model`: a model file [default: the shipped
    `models/disco-dock-{pocket,blind}.pt` of the mode]. `sampling` and `physics` give every
    setting (`samples` and `seed` then apply on top of `sampling`). DataError on bad input.
    """
    from disco_dock.core.training import pick_device
    from disco_dock.docking.bundle import DockingModel, default_model_path
    from disco_dock.docking.dock import dock as dock_complex

    torch_device = pick_device(device)
    pocket = as_pocket(pocket)
    loaded = DockingModel.load(model or default_model_path("pocket" if pocket else "blind"), torch_device)
    settings = (sampling or SamplingConfig()).replace(samples=samples, seed=seed)
    return dock_complex(protein, ligand, loaded, pocket, settings, torch_device, name, physics or PhysicsConfig(), progress)


def write(result: DockingResult, out: str | Path, overwrite: bool = False, hydrogens: bool = False) -> list[Path]:
    """Write `result` into the folder `out` as `disco-dock predict` does (poses.sdf, rank*.sdf,
    results.csv, complex.pdb, run.json); DataError when `out` holds an earlier run's files and
    not `overwrite`. The per-rank files, best first."""
    return write_result(result, prepare_folder(out, overwrite), hydrogens)
