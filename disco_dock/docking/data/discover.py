"""Finding complexes: PDBbind and Astex/PoseBusters folder layouts, or a CSV manifest.

Folder layout (PDBbind, Astex Diverse, PoseBusters): one sub-folder per complex, named like the
complex, holding

* the protein: `<name>_protein_processed.pdb`, else `<name>_protein.pdb`, else
  `<name>_protein.cif`, else any other `<name>_protein*.pdb` (the first by name, e.g.
  PoseBusters' `_protein_one_lig_removed.pdb`);
* the ligand: `<name>_ligand.sdf`, with `<name>_ligand.mol2` as its fallback (or the ligand on
  its own when there is no SDF). Other files (`_pocket.pdb`, `_ligand_start_conf.sdf`, ...) are
  ignored.

CSV manifest: a `.csv` file given instead of the folder, with a header naming a complex column
(`complex_name` or `name`), a protein column (`protein_path` or `protein`) and a ligand column
(`ligand_description`, `ligand_path`, `ligand` or `smiles`), as DiffDock's input CSV has. A
ligand is a file path (see `ligand.LIGAND_SUFFIXES`) or a SMILES string; relative paths are
relative to the CSV's folder.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from disco_dock.docking.data.errors import DataError
from disco_dock.docking.data.ligand import LIGAND_SUFFIXES

_NAME_COLUMNS = ("complex_name", "name")
_PROTEIN_COLUMNS = ("protein_path", "protein")
_LIGAND_COLUMNS = ("ligand_description", "ligand_path", "ligand", "smiles")


@dataclass(frozen=True)
class ComplexSource:
    """Where one complex's inputs are. A missing file is reported when the complex is processed."""

    name: str
    protein: Path
    ligand: str  # a file path or a SMILES string
    ligand_fallback: Path | None = None  # another file of the same ligand (PDBbind's MOL2)


def _folder_complex(folder: Path) -> ComplexSource | None:
    """The complex in `folder`, or None when the folder holds no `<name>_protein*`/`<name>_ligand*` file."""
    name = folder.name
    proteins = [folder / f"{name}_protein{ending}" for ending in ("_processed.pdb", ".pdb", ".cif")]
    protein = next((p for p in proteins if p.is_file()), None)
    if protein is None:
        protein = next(iter(sorted(folder.glob(f"{name}_protein*.pdb"))), None)
    sdf, mol2 = folder / f"{name}_ligand.sdf", folder / f"{name}_ligand.mol2"
    if protein is None and not sdf.is_file() and not mol2.is_file():
        return None
    if sdf.is_file() or not mol2.is_file():  # a missing SDF is reported when the complex is processed
        return ComplexSource(name, protein or proteins[1], str(sdf), mol2 if mol2.is_file() else None)
    return ComplexSource(name, protein or proteins[1], str(mol2))


def _column(header: list[str], choices: tuple[str, ...], path: Path) -> str:
    """The first of `choices` in the CSV header, or DataError."""
    for choice in choices:
        if choice in header:
            return choice
    raise DataError(path, f"CSV manifest has no {' / '.join(choices)} column (header: {', '.join(header)})")


def _manifest_complexes(path: Path) -> list[ComplexSource]:
    """The complexes listed in a CSV manifest."""
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            header = [column.strip() for column in reader.fieldnames or []]
            rows = [{key.strip(): (value or "").strip() for key, value in row.items() if key} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(path, f"cannot read CSV manifest ({error})") from None
    name_key = _column(header, _NAME_COLUMNS, path)
    protein_key = _column(header, _PROTEIN_COLUMNS, path)
    ligand_key = _column(header, _LIGAND_COLUMNS, path)
    sources = []
    for line, row in enumerate(rows, start=2):
        if not row.get(name_key):
            raise DataError(path, f"line {line}: empty {name_key}")
        ligand = row.get(ligand_key, "")
        if Path(ligand).suffix.lower() in LIGAND_SUFFIXES:
            ligand = str(path.parent / ligand)
        sources.append(ComplexSource(row[name_key], path.parent / row.get(protein_key, ""), ligand))
    duplicates = sorted(name for name, count in Counter(source.name for source in sources).items() if count > 1)
    if duplicates:
        raise DataError(path, f"complex names repeated: {', '.join(duplicates[:5])}")
    return sources


def read_ids(path: str | Path) -> list[str]:
    """Complex names from a text file, one per line (PDBbind split files); blank lines and # comments skipped."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        raise DataError(path, "file not found" if isinstance(error, FileNotFoundError) else f"cannot read ({error})") from None
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def discover_complexes(data: str | Path) -> list[ComplexSource]:
    """All complexes in a dataset folder (sorted by name) or CSV manifest; DataError if there are none."""
    data = Path(data)
    if not data.exists():
        raise DataError(data, "not found")
    if data.is_file():
        if data.suffix.lower() != ".csv":
            raise DataError(data, "expected a dataset folder or a .csv manifest")
        sources = _manifest_complexes(data)
    else:
        found = (_folder_complex(folder) for folder in sorted(data.iterdir()) if folder.is_dir())
        sources = [source for source in found if source is not None]
    if not sources:
        raise DataError(
            data,
            "no complexes found (expected <name>/<name>_protein.pdb with <name>_ligand.sdf or .mol2, or a CSV manifest)",
        )
    return sources
