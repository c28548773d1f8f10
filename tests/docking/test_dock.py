"""`dock`, its writer and `disco-dock predict` with a tiny randomly initialised model: the poses in
memory and written, determinism, the docking mode, pocket mode, SMILES, RDKit and batch input,
every bad-input case, a missing default model."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem

from disco_dock.docking import bundle
from disco_dock.docking.bundle import DockingModel
from disco_dock.docking.config import BLIND, POCKET, PhysicsConfig, SamplingConfig
from disco_dock.docking.data.conformers import generate_conformers
from disco_dock.docking.data.ligand import load_ligand
from disco_dock.docking.data.protein import read_protein
from disco_dock.docking.dock import dock
from disco_dock.docking.pocket import NO_POCKET, Box, Pocket, docking_mode, read_box
from disco_dock.docking.results import DockingResult
from disco_dock.docking.writer import write_result
from tests.support.complexes import crystal_centre, ligand_path, protein_path
from tests.support.predict import FAST, poses, results, run

LEARNED_ONLY = PhysicsConfig(refine=False, vina_search=False, check_validity=False)
"""No physics stage: the poses are ranked by the model's confidence."""
NAME = "1ia1"


def dock_cli(out: Path, checkpoint: Path, *args: object, ligand: object = ligand_path(NAME)):
    """Dock the test complex's ligand into its protein, 2 samples of 3 steps; the run must succeed."""
    result = run("--protein", protein_path(NAME), "--ligand", ligand, "--out", out, "--checkpoint", checkpoint, *FAST, *args)
    assert result.exit_code == 0, result.output
    return result


def bond_lengths(mol: Chem.Mol, pos: np.ndarray) -> np.ndarray:
    pairs = np.array([(bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()) for bond in mol.GetBonds()])
    return np.linalg.norm(pos[pairs[:, 0]] - pos[pairs[:, 1]], axis=1)


def test_predict_writes_ranked_poses_of_the_same_molecule(tmp_path, model_files):
    dock_cli(tmp_path, model_files["blind"])
    ligand = load_ligand(ligand_path(NAME)).mol
    conformer = generate_conformers(ligand, 1, seed=SamplingConfig.seed).pos[0]
    written = poses(tmp_path)
    assert len(written) == 2
    for rank, mol in enumerate(written, start=1):
        assert mol.GetNumAtoms() == ligand.GetNumAtoms()
        assert Chem.MolToSmiles(mol) == Chem.MolToSmiles(ligand)
        pos = mol.GetConformer().GetPositions()
        np.testing.assert_allclose(bond_lengths(ligand, pos), bond_lengths(ligand, conformer), atol=0.01)
        assert mol.GetProp("rank") == str(rank) and mol.GetProp("mode") == "blind"
        assert 0 <= float(mol.GetProp("confidence")) <= 1
    rows = results(tmp_path / "results.csv")
    assert [row["file"] for row in rows] == ["rank1.sdf", "rank2.sdf"]
    assert [float(row["confidence"]) for row in rows] == sorted((float(row["confidence"]) for row in rows), reverse=True)


def assert_written(result: DockingResult, out: Path) -> None:
    """`out` holds `result` as written by `write_result`: a pose file per pose, best first, with its
    conformer (to the SDF's 4 decimals), rank, confidence, mode and name, and results.csv."""
    written = poses(out)
    assert len(written) == len(result.poses)
    for pose, mol in zip(result.poses, written):
        np.testing.assert_allclose(mol.GetConformer().GetPositions(), pose.positions, atol=6e-5)
        assert Chem.MolToSmiles(mol) == Chem.MolToSmiles(pose.mol)
        assert (mol.GetProp("rank"), mol.GetProp("mode"), mol.GetProp("_Name")) == (str(pose.rank), result.mode, result.name)
        assert mol.GetProp("confidence") == f"{pose.confidence:.4f}"
    rows = [(row["rank"], row["confidence"], row["file"], row["name"]) for row in results(out / "results.csv")]
    assert rows == [(str(p.rank), f"{p.confidence:.4f}", f"rank{p.rank}.sdf", result.name) for p in result.poses]


def test_dock_returns_ranked_poses_in_memory_that_the_writer_writes(tmp_path, model_files):
    model = DockingModel.load(model_files[POCKET])
    pocket = Pocket(crystal_centre(NAME), 15.0)
    result = dock(protein_path(NAME), ligand_path(NAME), model, pocket, SamplingConfig(samples=3, steps=3), physics=LEARNED_ONLY)
    ligand = load_ligand(ligand_path(NAME)).mol
    assert (result.name, result.mode, [pose.rank for pose in result.poses]) == ("1ia1_ligand", POCKET, [1, 2, 3])
    assert sorted(pose.sample for pose in result.poses) == [0, 1, 2]
    assert result.positions.shape == (3, ligand.GetNumAtoms(), 3)
    assert list(result.confidences) == sorted(result.confidences, reverse=True)
    for pose in result.poses:
        assert [atom.GetSymbol() for atom in pose.mol.GetAtoms()] == [atom.GetSymbol() for atom in ligand.GetAtoms()]
        assert pose.mol.GetNumConformers() == 1
    files = write_result(result, tmp_path)
    assert files == [tmp_path / f"rank{k}.sdf" for k in (1, 2, 3)]
    assert_written(result, tmp_path)


def test_cli_writes_what_dock_returns(tmp_path, model_files):
    dock_cli(tmp_path, model_files["blind"], "--seed", 2)
    model = DockingModel.load(model_files["blind"])
    assert_written(dock(protein_path(NAME), ligand_path(NAME), model, sampling=SamplingConfig(samples=2, steps=3, seed=2)), tmp_path)


def test_rdkit_molecule_with_hydrogens_docks_as_its_file(model_files):
    model = DockingModel.load(model_files["blind"])
    with_hydrogens = Chem.AddHs(load_ligand(ligand_path(NAME)).mol, addCoords=True)
    receptor = read_protein(protein_path(NAME))
    from_memory = dock(receptor, with_hydrogens, model, sampling=SamplingConfig(samples=2, steps=2), name="x")
    from_file = dock(protein_path(NAME), ligand_path(NAME), model, sampling=SamplingConfig(samples=2, steps=2))
    np.testing.assert_array_equal(from_memory.positions, from_file.positions)
    assert from_memory.name == "x" and from_memory.poses[0].mol.GetNumAtoms() == with_hydrogens.GetNumHeavyAtoms()


def test_docking_mode_is_one_rule(model_files):
    assert (docking_mode(False), docking_mode(True)) == (BLIND, POCKET)  # the command line's default model
    assert docking_mode(False, BLIND) == BLIND and docking_mode(True, POCKET) == POCKET
    with pytest.raises(ValueError, match=NO_POCKET):
        docking_mode(False, POCKET)
    with pytest.warns(UserWarning, match="trained for blind docking"):
        assert docking_mode(True, BLIND) == POCKET
    with pytest.raises(ValueError, match=NO_POCKET):
        dock(protein_path(NAME), ligand_path(NAME), DockingModel.load(model_files[POCKET]))


def test_a_box_pocket_has_half_the_diagonal_as_radius_but_at_least_the_models(tmp_path):
    box = Box((1, 2, 3), (4, 4, 2))
    assert Pocket.from_box(box, min_radius=2.0) == Pocket((1.0, 2.0, 3.0), 3.0, box)
    assert Pocket.from_box(box, min_radius=20.0).radius == 20.0
    path = tmp_path / "box.json"
    path.write_text(json.dumps({"center_x": 1, "center_y": 2, "center_z": 3, "size_x": 4, "size_y": 4, "size_z": 2}))
    assert read_box(path, min_radius=2.0) == Pocket.from_box(box, 2.0)


def test_same_seed_same_poses(tmp_path, model_files):
    coordinates = {}
    for run_name, seed in (("first", 3), ("again", 3), ("other", 4)):
        dock_cli(tmp_path / run_name, model_files["blind"], "--seed", seed)
        coordinates[run_name] = np.stack([mol.GetConformer().GetPositions() for mol in poses(tmp_path / run_name)])
    np.testing.assert_array_equal(coordinates["first"], coordinates["again"])
    assert not np.allclose(coordinates["first"], coordinates["other"])


def box_file(folder: Path) -> Path:
    path = folder / "box.json"
    centre = crystal_centre(NAME)
    path.write_text(json.dumps({**dict(zip(("center_x", "center_y", "center_z"), centre)), "size_x": 20, "size_y": 20, "size_z": 20}))
    return path


POCKETS = {
    "centre": lambda folder: ["--pocket-center", ",".join(map(str, crystal_centre(NAME))), "--pocket-radius", "15"],
    "reference ligand": lambda folder: ["--reference-ligand", ligand_path(NAME)],
    "box": lambda folder: ["--box", box_file(folder)],
}


@pytest.mark.parametrize("how", POCKETS)
def test_pocket_mode(tmp_path, model_files, how):
    dock_cli(tmp_path / "out", model_files[POCKET], *POCKETS[how](tmp_path))
    written = poses(tmp_path / "out")
    sources = [mol.GetProp("source") for mol in written]
    assert {mol.GetProp("mode") for mol in written} == {POCKET}
    assert sources.count("diffusion") == 2 and 1 <= sources.count("vina") <= 2  # with a pocket, Vina's search (at most 2 poses) joins



def test_blind_model_docks_into_a_pocket_with_a_warning(tmp_path, model_files):
    result = dock_cli(tmp_path, model_files["blind"], "--reference-ligand", ligand_path(NAME))
    assert "warning: this model was trained for blind docking" in result.stderr
    assert poses(tmp_path)[0].GetProp("mode") == POCKET


def test_smiles_ligand_with_guidance_and_ode(tmp_path, model_files):
    dock_cli(tmp_path, model_files["blind"], "--guidance", "1", "--ode", ligand="CC(=O)Nc1ccc(O)cc1")
    assert [mol.GetNumAtoms() for mol in poses(tmp_path)] == [11, 11]


def test_batch_csv_reads_each_protein_once_and_goes_on_after_failures(tmp_path, model_files, monkeypatch):
    reads = []
    monkeypatch.setattr("disco_dock.docking.batch.read_protein", lambda path: reads.append(path) or read_protein(path))
    table = tmp_path / "complexes.csv"
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["protein", "ligand", "name"])
        writer.writerow([protein_path(NAME), ligand_path(NAME), "file"])
        writer.writerow([protein_path(NAME), "c1ccccc1CCO", "smiles"])
        writer.writerow([protein_path(NAME), "not a smiles ((", "broken"])
    result = run("--csv", table, "--out", tmp_path / "out", "--checkpoint", model_files["blind"], *FAST)
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()[-1:]
    assert line.startswith("error: broken: not a smiles ((: SMILES does not parse")
    assert len(reads) == 1
    assert [(row["name"], row["file"]) for row in results(tmp_path / "out" / "results.csv")] == [
        ("file", "file/rank1.sdf"), ("file", "file/rank2.sdf"), ("smiles", "smiles/rank1.sdf"), ("smiles", "smiles/rank2.sdf"),
    ]  # fmt: skip
    assert [row["name"] for row in results(tmp_path / "out" / "failures.csv")] == ["broken"]


def without_ca(folder: Path) -> Path:
    path = folder / "no_ca.pdb"
    path.write_text("\n".join(line for line in protein_path(NAME).read_text().splitlines() if line[12:16] != " CA "))
    return path


# case: (arguments after the protein and ligand, protein, ligand, pattern of the message)
BAD_INPUT = {
    "missing protein": (lambda folder: [], lambda folder: folder / "absent.pdb", None, "absent.pdb: file not found"),
    "missing ligand": (lambda folder: [], None, lambda folder: folder / "absent.sdf", "absent.sdf: file not found"),
    "bad SMILES": (lambda folder: [], None, lambda folder: "C1CC((", "C1CC((: SMILES does not parse"),
    "protein without CA": (lambda folder: [], without_ca, None, "no_ca.pdb: "),
    "empty pocket": (lambda folder: ["--pocket-center", "900,900,900", "--pocket-radius", "5", "--checkpoint", "POCKET"], None, None, "no residue within 5 A"),
    "bad pocket centre": (lambda folder: ["--pocket-center", "1,2"], None, None, "1,2: a pocket centre is three numbers"),
    "two pockets": (lambda folder: ["--pocket-center", "1,2,3", "--box", box_file(folder)], None, None, "give only one of"),
    "missing checkpoint": (lambda folder: ["--checkpoint", folder / "absent.pt"], None, None, "absent.pt: file not found"),
    "corrupt checkpoint": (
        lambda folder: ["--checkpoint", folder / "box.json", "--box", box_file(folder)], None, None, "box.json: not a disco-dock model file",
    ),
    "pocket model, no pocket": (lambda folder: ["--checkpoint", "POCKET"], None, None, "this model docks into a pocket: give --box"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_is_one_line_and_status_2(tmp_path, model_files, case):
    options, protein, ligand, message = BAD_INPUT[case]
    arguments = [model_files[POCKET] if value == "POCKET" else value for value in options(tmp_path)]
    if "--checkpoint" not in arguments:
        arguments += ["--checkpoint", model_files["blind"]]
    protein = protein(tmp_path) if protein else protein_path(NAME)
    ligand = ligand(tmp_path) if ligand else ligand_path(NAME)
    result = run("--protein", protein, "--ligand", ligand, "--out", tmp_path / "out", *FAST, *arguments)
    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and message in line, line
    assert "Traceback" not in result.output


def test_missing_default_model_says_how_to_train_one(tmp_path, monkeypatch):
    monkeypatch.setattr(bundle, "default_model_path", lambda mode: tmp_path / f"disco-dock-{mode}.pt")
    result = run("--protein", protein_path(NAME), "--ligand", ligand_path(NAME), *FAST)
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert "disco-dock-blind.pt" in line and "disco-dock train" in line and "--checkpoint" in line
