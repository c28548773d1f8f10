"""Writing docking results into a run's folder (what `disco-dock predict` leaves there):

* `poses.sdf`: every pose, best first; `rank1.sdf`, `rank2.sdf`, ...: one pose each;
* `results.csv`: a row per pose with every score, its file and the complex's name;
* `complex.pdb`: the protein with the top pose as residue LIG of chain L, to open in a viewer;
* `run.json`, written last (a folder with it is complete): the command, model, settings,
  versions, warnings and the seconds of every stage.

Each SDF molecule is titled with the complex's name and carries its scores as properties (see
`pose_properties`). Poses are written as heavy atoms (the model's and Vina's poses are), or with
hydrogens added in 3D (`hydrogens=True`). A folder holding an earlier run's files is refused, or
cleared first with `overwrite` (`prepare_folder`), so that old and new poses never mix.
"""

from __future__ import annotations

import csv
import importlib.metadata
import json
import math
import platform
from collections.abc import Iterable, Mapping
from pathlib import Path

from rdkit import Chem

from disco_dock.docking.data.errors import DataError
from disco_dock.docking.results import DockedPose, DockingResult

RESULTS_FILE, POSES_FILE, COMPLEX_FILE, RUN_FILE = "results.csv", "poses.sdf", "complex.pdb", "run.json"
RUN_OUTPUTS = ("rank*.sdf", POSES_FILE, RESULTS_FILE, COMPLEX_FILE, RUN_FILE)
"""What `write_result` writes into a folder (glob patterns): an earlier run's files, by these names."""
SCORE_COLUMNS = ("rank", "confidence", "vina_score", "vinardo_score", "source", "refinement_shift", "posebusters_valid", "posebusters_failed", "flag")
RESULT_COLUMNS = (*SCORE_COLUMNS, "file", "name")
VERSIONED = ("disco-dock", "torch", "rdkit", "vina", "meeko", "posebusters", "e3nn", "torch-geometric")
"""The packages whose versions `run.json` records."""
LIGAND_RESIDUE, LIGAND_CHAIN = "LIG", "L"


def _number(value: float, digits: int) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else "nan"


def pose_properties(pose: DockedPose) -> dict[str, str]:
    """The pose's values as text, by column: rank, confidence, Vina and Vinardo scores (kcal/mol), source,
    refinement shift (A), PoseBusters verdict ("" when not checked), its failed checks and its
    placement flag ("" when in place)."""
    return {
        "rank": str(pose.rank),
        "confidence": _number(pose.confidence, 4),
        "vina_score": _number(pose.vina_score, 3),
        "vinardo_score": _number(pose.vinardo_score, 3),
        "source": pose.source,
        "refinement_shift": _number(pose.refinement_shift, 3),
        "posebusters_valid": "" if pose.valid is None else str(pose.valid).lower(),
        "posebusters_failed": " ".join(pose.failed_checks),
        "flag": pose.flag,
    }


def pose_molecule(pose: DockedPose, result: DockingResult, hydrogens: bool = False) -> Chem.Mol:
    """The pose as it is written: titled with the complex's name, its values as properties."""
    mol = Chem.AddHs(pose.mol, addCoords=True) if hydrogens else Chem.Mol(pose.mol)
    for key, value in {**pose_properties(pose), "mode": result.mode, "_Name": result.name}.items():
        mol.SetProp(key, value)
    return mol


def write_sdf(path: Path, mols: Iterable[Chem.Mol]) -> None:
    """The molecules into one SDF file at `path`."""
    with Chem.SDWriter(str(path)) as writer:
        for mol in mols:
            writer.write(mol)


def write_table(path: Path, written: Iterable[tuple[DockingResult, list[Path]]]) -> None:
    """`results.csv` at `path`: a row per pose of every result, with the pose's file (from `write_result`)."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(RESULT_COLUMNS)
        for result, files in written:
            for pose, file in zip(result.poses, files, strict=True):
                values = pose_properties(pose)
                writer.writerow([values[column] for column in SCORE_COLUMNS] + [file.relative_to(path.parent).as_posix(), result.name])


def protein_pdb_lines(protein: Path) -> list[str]:
    """The ATOM/HETATM/TER records of a PDB file, or of an mmCIF file converted by Biopython."""
    if protein.suffix.lower() in (".cif", ".mmcif"):
        import io

        from Bio.PDB import PDBIO, MMCIFParser

        output = PDBIO()
        output.set_structure(MMCIFParser(QUIET=True).get_structure(protein.stem, str(protein)))
        text = io.StringIO()
        output.save(text)
        lines = text.getvalue().splitlines()
    else:
        lines = protein.read_text(errors="replace").splitlines()
    return [line for line in lines if line.startswith(("ATOM", "HETATM", "TER"))]


def complex_pdb(protein: Path, ligand: Chem.Mol) -> str:
    """A PDB file of `protein` with `ligand` (its one conformer) as residue LIG of chain L."""
    ligand = Chem.Mol(ligand)
    for index, atom in enumerate(ligand.GetAtoms()):
        name = f"{atom.GetSymbol()}{index + 1}"
        atom.SetMonomerInfo(Chem.AtomPDBResidueInfo(f"{name:<4}"[:4], residueName=LIGAND_RESIDUE, chainId=LIGAND_CHAIN, isHeteroAtom=True))
    ligand_lines = [line for line in Chem.MolToPDBBlock(ligand, flavor=2).splitlines() if line.startswith("HETATM")]
    return "\n".join([*protein_pdb_lines(protein), *ligand_lines, "END"]) + "\n"


def versions() -> dict[str, str]:
    """Python's and `VERSIONED` packages' versions ("" for one not installed)."""

    def version(package: str) -> str:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return ""

    return {"python": platform.python_version(), **{package: version(package) for package in VERSIONED}}


def prepare_folder(out_dir: str | Path, overwrite: bool = False, outputs: tuple[str, ...] = RUN_OUTPUTS) -> Path:
    """Make `out_dir` ready for a run: created if needed; DataError when it is a file, cannot be
    written, or (without `overwrite`) holds files of `outputs` from an earlier run, which
    `overwrite` deletes. Called before any docking, so that an unusable folder costs nothing."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(out_dir, "exists and is not a folder: give another --out")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".disco-dock-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise DataError(out_dir, f"cannot write there ({error.strerror or error})") from None
    earlier = sorted({path for pattern in outputs for path in out_dir.glob(pattern) if path.is_file()})
    if earlier and not overwrite:
        names = ", ".join(path.name for path in earlier[:3]) + (", ..." if len(earlier) > 3 else "")
        raise DataError(out_dir, f"holds an earlier run's results ({names}): give --overwrite to replace them, or another --out")
    for path in earlier:
        path.unlink()
    return out_dir


def write_result(
    result: DockingResult, out_dir: str | Path, hydrogens: bool = False, run: Mapping[str, object] | None = None
) -> list[Path]:
    """Write `result` into `out_dir` (see the module docstring; `complex.pdb` when the result
    knows its protein file), with `run` (the command, model, settings, warnings, ...) and the
    result's stage timings in `run.json`, last; the pose files, best first."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    mols = [pose_molecule(pose, result, hydrogens) for pose in result.poses]
    files = [out_dir / f"rank{pose.rank}.sdf" for pose in result.poses]
    for mol, file in zip(mols, files):
        write_sdf(file, [mol])
    write_sdf(out_dir / POSES_FILE, mols)
    write_table(out_dir / RESULTS_FILE, [(result, files)])
    if result.protein is not None:
        (out_dir / COMPLEX_FILE).write_text(complex_pdb(result.protein, mols[0]))
    record = {
        **(run or {}),
        "name": result.name,
        "mode": result.mode,
        "poses": len(result.poses),
        "flagged": sum(bool(pose.flag) for pose in result.poses),
        "seconds": result.seconds,
        "versions": versions(),
    }
    (out_dir / RUN_FILE).write_text(json.dumps(record, indent=2, default=str) + "\n")
    return files
