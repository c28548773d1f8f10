"""The four real complexes that ship inside the `posebusters` package, and PDBbind-layout folders."""

from __future__ import annotations

import importlib.resources
import shutil
from pathlib import Path

POSEBUSTERS = Path(str(importlib.resources.files("posebusters") / "datasets" / "pdb"))
"""The folder of posebusters' example complexes, one subfolder per complex."""
COMPLEXES = ("1ia1", "1of6", "1s3v", "1uou")
"""The names of the four example complexes."""


def protein_path(name: str) -> Path:
    """The posebusters protein of complex `name` (one ligand removed, hydrogens present)."""
    return POSEBUSTERS / name / f"{name}_protein_one_lig_removed.pdb"


def ligand_path(name: str) -> Path:
    """The posebusters single-ligand SDF of complex `name`."""
    return POSEBUSTERS / name / f"{name}_ligand.sdf"


def make_complex(root: Path, name: str, protein: str | Path | None = None, ligand: str | Path | None = None, ligand_suffix: str = ".sdf") -> Path:
    """A PDBbind-layout folder `root/name/` whose protein and ligand files have the given text
    (or are copies of the given paths); a None file is not written. Returns the folder."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for content, target in ((protein, folder / f"{name}_protein.pdb"), (ligand, folder / f"{name}_ligand{ligand_suffix}")):
        if isinstance(content, Path):
            shutil.copy(content, target)
        elif content is not None:
            target.write_text(content)
    return folder


def crystal_centre(name: str) -> tuple[float, float, float]:
    """The centroid of the crystal ligand's heavy atoms of posebusters complex `name`."""
    from disco_dock.docking.data.ligand import read_ligand

    x, y, z = read_ligand(ligand_path(name)).positions.mean(axis=0).tolist()
    return x, y, z
