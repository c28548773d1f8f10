"""Running `disco-dock predict` in tests: the command, fast settings, ligands it must refuse or
accept, and reading what it wrote."""

from __future__ import annotations

import csv
from pathlib import Path

from rdkit import Chem
from rdkit.Chem import AllChem
from typer.testing import CliRunner

from disco_dock.cli import app

FAST = ["--samples", "2", "--steps", "3", "--device", "cpu", "--vina-exhaustiveness", "1", "--vina-poses", "2"]
"""Two samples of three steps on the CPU (and, where Vina searches, a short search)."""
NO_PHYSICS = ["--no-refine", "--no-vina-search", "--no-checks"]
"""No Vina and no PoseBusters: for tests about something else."""


def run(*args: object, command: str = "predict"):
    """`disco-dock <command>` with the given arguments (stdout and stderr apart)."""
    return CliRunner().invoke(app, [command, *map(str, args)])


def poses(out: Path) -> list[Chem.Mol]:
    """The molecules of rank1.sdf, rank2.sdf, ... in `out`, by rank."""
    files = sorted(out.glob("rank*.sdf"), key=lambda path: int(path.stem[4:]))
    return [next(Chem.SDMolSupplier(str(path))) for path in files]


def results(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file."""
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


PENTAVALENT_SDF = (
    "\n  test\n\n  6  5  0  0  0  0  0  0  0  0999 V2000\n"
    + "".join(
        f"{x:10.4f}{y:10.4f}{z:10.4f} C   0  0  0  0  0  0  0  0  0  0  0  0\n"
        for x, y, z in [(0, 0, 0), (1.5, 0, 0), (-1.5, 0, 0), (0, 1.5, 0), (0, -1.5, 0), (0, 0, 1.5)]
    )
    + "".join(f"  1{atom:3d}  1  0\n" for atom in range(2, 7))
    + "M  END\n$$$$\n"
)
"""An SDF of a carbon with five carbon neighbours: RDKit reads it unsanitised but cannot sanitise it."""


def flat_sdf(*smiles: str) -> str:
    """An SDF of the molecules of `smiles`, each with 2D coordinates (every z is 0)."""
    blocks = []
    for text in smiles:
        mol = Chem.MolFromSmiles(text)
        AllChem.Compute2DCoords(mol)
        blocks.append(Chem.MolToMolBlock(mol) + "$$$$\n")
    return "".join(blocks)
