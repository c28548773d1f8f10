"""Every bad-input case: a DataError naming the file and the reason; from the command line, a
one-line error, exit status 2 and no traceback, while the other complexes of the batch go on.
`disco-dock predict` refuses its bad inputs the same way, before any model is loaded."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from disco_dock.cli import app
from disco_dock.docking.bundle import DockingModel
from disco_dock.docking.data.discover import discover_complexes
from disco_dock.docking.data.errors import DataError
from disco_dock.docking.data.preprocess import FAILURES_FILE, process_complex
from tests.support.complexes import ligand_path, make_complex, protein_path
from tests.support.predict import FAST, PENTAVALENT_SDF, flat_sdf
from tests.support.predict import run as run_predict

GOOD = "1uou"
BAD = "zbad"


def protein_lines() -> list[str]:
    return protein_path(GOOD).read_text().splitlines()


def truncated_line() -> str:
    lines = protein_lines()
    lines[9] = lines[9][:40]
    return "\n".join(lines)


def empty_atom_record() -> str:
    lines = protein_lines()
    lines[9] = "ATOM  "
    return "\n".join(lines)


def without_ca() -> str:
    return "\n".join(line for line in protein_lines() if line[12:16] != " CA ")


def truncated_sdf() -> str:
    text = ligand_path(GOOD).read_text()
    return text[: len(text) // 2]


# case: (protein text or Path or None, ligand text or Path or None, file named in the error, reason pattern)
CASES: dict[str, tuple[Callable[[], object], Callable[[], object], str, str]] = {
    "missing protein": (lambda: None, lambda: ligand_path(GOOD), f"{BAD}_protein.pdb", "file not found"),
    "missing ligand": (lambda: protein_path(GOOD), lambda: None, f"{BAD}_ligand.sdf", "file not found"),
    "empty PDB": (lambda: "", lambda: ligand_path(GOOD), f"{BAD}_protein.pdb", "no ATOM/HETATM records"),
    "truncated PDB line": (truncated_line, lambda: ligand_path(GOOD), f"{BAD}_protein.pdb", r"line 10: truncated ATOM record"),
    "empty ATOM record": (empty_atom_record, lambda: ligand_path(GOOD), f"{BAD}_protein.pdb", r"line 10: truncated ATOM record"),
    "no CA atoms": (without_ca, lambda: ligand_path(GOOD), f"{BAD}_protein.pdb", "no amino-acid residue with a CA atom"),
    "2D-only SDF": (lambda: protein_path(GOOD), lambda: flat_sdf("CC(=O)Nc1ccc(O)cc1"), f"{BAD}_ligand.sdf", "2D-only coordinates"),
    "unreadable ligand": (lambda: protein_path(GOOD), lambda: "not a molecule\n$$$$\n", f"{BAD}_ligand.sdf", "RDKit cannot read a molecule"),
    "truncated SDF": (lambda: protein_path(GOOD), truncated_sdf, f"{BAD}_ligand.sdf", "RDKit cannot read a molecule"),
    "empty SDF": (lambda: protein_path(GOOD), lambda: "", f"{BAD}_ligand.sdf", "empty file"),
}


def dataset(root: Path, case: str) -> Path:
    """A PDBbind-layout folder with one good complex and one with the defect of `case`."""
    protein, ligand, _, _ = CASES[case]
    make_complex(root, GOOD, protein_path(GOOD), ligand_path(GOOD))
    make_complex(root, BAD, protein(), ligand())
    return root


def run_cli(*args: str):
    result = CliRunner().invoke(app, ["preprocess", *map(str, args)])
    assert "Traceback" not in result.output and not isinstance(result.exception, (AssertionError, TypeError, KeyError))
    return result


@pytest.mark.parametrize("case", CASES)
def test_bad_complex_raises_data_error(case: str, tmp_path: Path) -> None:
    _, _, named, reason = CASES[case]
    sources = {source.name: source for source in discover_complexes(dataset(tmp_path / "data", case))}
    with pytest.raises(DataError, match=reason) as caught:
        process_complex(sources[BAD])
    assert str(caught.value).startswith(str(tmp_path / "data" / BAD / named) + ": ")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("case", CASES)
def test_cli_reports_bad_complex_and_goes_on(case: str, tmp_path: Path) -> None:
    _, _, named, reason = CASES[case]
    out = tmp_path / "cache"
    result = run_cli("--data-dir", dataset(tmp_path / "data", case), "--out", out)
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {BAD}: ") and named in line
    assert re.search(reason, line)
    assert (out / f"{GOOD}.pt").is_file() and not (out / f"{BAD}.pt").exists()
    with (out / FAILURES_FILE).open() as handle:
        [row] = list(csv.DictReader(handle))
    assert row["name"] == BAD and row["source"].endswith(named)
    assert "1/2 complexes in the cache" in result.stdout


def test_bad_smiles(tmp_path: Path) -> None:
    manifest = tmp_path / "complexes.csv"
    manifest.write_text(f"complex_name,protein_path,ligand_description\n{GOOD},{protein_path(GOOD)},CCO\n{BAD},{protein_path(GOOD)},C1CC(\n")
    source = discover_complexes(manifest)[1]
    with pytest.raises(DataError, match=r"^C1CC\(: SMILES does not parse"):
        process_complex(source)
    result = run_cli("--data-dir", manifest, "--out", tmp_path / "cache")
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {BAD}: C1CC(: SMILES does not parse")


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda root: root.mkdir() or root, "no complexes found"),
        (lambda root: root / "absent", "not found"),
        (lambda root: (root.mkdir(), (root / "x.txt").write_text(""))[0] or root / "x.txt", "expected a dataset folder or a .csv manifest"),
    ],
    ids=["empty folder", "missing folder", "not a folder or CSV"],
)
def test_no_complexes(make, reason: str, tmp_path: Path) -> None:
    data = make(tmp_path / "data")
    with pytest.raises(DataError, match=reason):
        discover_complexes(data)
    result = run_cli("--data-dir", data, "--out", tmp_path / "cache")
    assert result.exit_code == 2
    assert result.stderr.strip().startswith(f"error: {data}: ") and reason in result.stderr and result.stdout == ""


def test_missing_ids_file(tmp_path: Path) -> None:
    data = make_complex(tmp_path / "data", GOOD, protein_path(GOOD), ligand_path(GOOD)).parent
    result = run_cli("--data-dir", data, "--out", tmp_path / "cache", "--ids", tmp_path / "ids.txt")
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'ids.txt'}: file not found"


def stale_folder(folder: Path) -> Path:
    (folder / "out").mkdir()
    (folder / "out" / "rank3.sdf").write_text("")
    return folder / "out"


def file_named(name: str, text: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        (folder / name).write_text(text)
        return folder / name

    return make


BOX = '{"center_x": 0, "center_y": 0, "center_z": 0, "size_x": 0, "size_y": 10, "size_z": 10}'
BATCH = "protein,ligand\nx.pdb,CCO\n"
# case: (options over the good complex's --protein, --ligand and --out (None: left out), given the test's folder; the error)
PREDICT_CASES: dict[str, tuple[Callable[[Path], dict[str, object]], str]] = {
    "output folder is a file": (lambda folder: {"--out": file_named("taken", "")(folder)}, "taken: exists and is not a folder"),
    "output folder under a file": (lambda folder: {"--out": file_named("taken", "")(folder) / "poses"}, "poses: cannot write there"),
    "output folder of an earlier run": (lambda folder: {"--out": stale_folder(folder)}, "out: holds an earlier run's results (rank3.sdf)"),
    "unsanitisable ligand": (lambda folder: {"--ligand": file_named("penta.sdf", PENTAVALENT_SDF)(folder)}, "penta.sdf: RDKit cannot sanitise"),
    "two molecules": (lambda folder: {"--ligand": file_named("two.sdf", flat_sdf("CCO", "CCN"))(folder)}, "two.sdf: 2 molecules in the file"),
    "box of zero size": (lambda folder: {"--box": file_named("box.json", BOX)(folder)}, "box.json: box size 0 x 10 x 10 A: every edge must be positive"),
    "missing protein": (lambda folder: {"--protein": folder / "absent.pdb"}, "absent.pdb: file not found"),
    "protein without atoms": (lambda folder: {"--protein": file_named("empty.pdb", "HEADER\n")(folder)}, "empty.pdb: no ATOM/HETATM records"),
    "bad SMILES": (lambda folder: {"--ligand": "C1CC(("}, "C1CC((: SMILES does not parse"),
    "shard without a batch": (lambda folder: {"--shard": "0/2"}, "--shard splits a --csv batch"),
    "bad shard": (
        lambda folder: {"--protein": None, "--ligand": None, "--csv": file_named("b.csv", BATCH)(folder), "--shard": "3/2"}, "3/2: a shard i/n needs 0 <= i < n",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", PREDICT_CASES)
def test_predict_refuses_bad_input_before_loading_a_model(case: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(DockingModel, "load", classmethod(lambda cls, *args, **kwargs: pytest.fail("model loaded before the inputs were checked")))
    options, message = PREDICT_CASES[case]
    given = {"--protein": protein_path(GOOD), "--ligand": ligand_path(GOOD), "--out": tmp_path / "poses", **options(tmp_path)}
    result = run_predict(*[text for option, value in given.items() if value is not None for text in (option, value)], *FAST)
    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and message in line, line
    assert "Traceback" not in result.output
