"""The ten problems a new user met (issue 15), each reproduced and now passing: batch rows' pockets,
chemistry checks, poses out of place, unusable output folders, stale files, Ctrl-C and resume in a
batch, memory and progress, `--help` defaults, the outputs chemists use, and the Python API."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem

import disco_dock
from disco_dock.cli import SAMPLING
from disco_dock.docking import batch as batch_module
from disco_dock.docking import bundle
from disco_dock.docking.bundle import DockingModel
from disco_dock.docking.config import BLIND, POCKET, DockingConfig, PhysicsConfig, SamplingConfig
from disco_dock.docking.data.ligand import docking_ligand
from disco_dock.docking.data.protein import read_protein
from disco_dock.docking.dock import batch_sizes, complex_graph
from disco_dock.docking.placement import NO_CONTACT
from disco_dock.docking.results import DockingResult
from tests.support.complexes import crystal_centre, ligand_path, protein_path
from tests.support.models import TINY_DOCKING
from tests.support.predict import FAST, NO_PHYSICS, PENTAVALENT_SDF, flat_sdf, poses, results, run

NAME = "1ia1"
NO_VINA = PhysicsConfig(refine=False, vina_search=False, check_validity=False)


@pytest.fixture()
def default_models(model_files, monkeypatch) -> dict[str, Path]:
    """The tiny models stand in for the shipped ones."""
    monkeypatch.setattr(bundle, "default_model_path", lambda mode: model_files[mode])
    return model_files


def predict(out: Path, *args: object, ligand: object = None, protein: object = None):
    """`predict` of the test complex (or the given inputs), fast and without physics."""
    return run("--protein", protein or protein_path(NAME), "--ligand", ligand or ligand_path(NAME), "--out", out, *FAST, *NO_PHYSICS, *args)


def one_error_line(result, status: int = 2) -> str:
    assert result.exit_code == status, result.output
    assert "Traceback" not in result.output
    [line] = result.stderr.strip().splitlines()[-1:]
    return line


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    path.write_text("\n".join(",".join(map(str, row)) for row in [header, *rows]) + "\n")
    return path


# 1. CSV batch ignored the pocket columns (docked blind with the blind model)
def test_1_a_batch_rows_pocket_picks_the_pocket_model(tmp_path, default_models):
    centre = '"' + ",".join(f"{value:.3f}" for value in crystal_centre(NAME)) + '"'
    table = write_csv(tmp_path / "batch.csv", ["protein", "ligand", "name", "pocket_center"],
                      [[protein_path(NAME), ligand_path(NAME), "in_pocket", centre], [protein_path(NAME), "CCO", "blind", ""]])  # fmt: skip
    result = run("--csv", table, "--out", tmp_path / "out", *FAST, *NO_PHYSICS)
    assert result.exit_code == 0, result.output
    assert "trained for blind docking" not in result.stderr
    modes = {name: json.loads((tmp_path / "out" / name / "run.json").read_text())["mode"] for name in ("in_pocket", "blind")}
    assert modes == {"in_pocket": POCKET, "blind": BLIND}


# 2. invalid chemistry passed; a multi-molecule SDF docked its first molecule; a 2D SDF was refused
def test_2_invalid_chemistry_and_multi_molecule_files_are_refused_and_2d_is_docked(tmp_path, model_files):
    (tmp_path / "penta.sdf").write_text(PENTAVALENT_SDF)
    (tmp_path / "two.sdf").write_text(flat_sdf("CCO", "c1ccccc1O"))
    (tmp_path / "flat.sdf").write_text(flat_sdf("CC(=O)Nc1ccc(O)cc1"))
    line = one_error_line(predict(tmp_path / "a", "--checkpoint", model_files[BLIND], ligand=tmp_path / "penta.sdf"))
    assert "penta.sdf: RDKit cannot sanitise the molecule" in line and "valence" in line
    line = one_error_line(predict(tmp_path / "b", "--checkpoint", model_files[BLIND], ligand=tmp_path / "two.sdf"))
    assert "two.sdf: 2 molecules in the file" in line
    assert predict(tmp_path / "c", "--checkpoint", model_files[BLIND], ligand=tmp_path / "flat.sdf").exit_code == 0
    assert [mol.GetNumAtoms() for mol in poses(tmp_path / "c")] == [11, 11]
    assert docking_ligand(tmp_path / "flat.sdf").route == "sdf"


# 3. poses far from the protein passed unflagged; a non-positive box was accepted; a truncated PDB docked silently
def test_3_poses_out_of_reach_are_flagged_and_ranked_last(tmp_path, model_files):
    result = predict(tmp_path / "out", "--checkpoint", model_files[POCKET], "--pocket-center", "500,500,500", "--pocket-radius", "1000")
    assert result.exit_code == 0, result.output
    assert "2 flagged and ranked last" in result.stdout
    assert [row["flag"] for row in results(tmp_path / "out" / "results.csv")] == [NO_CONTACT, NO_CONTACT]
    assert all(mol.GetProp("flag") == NO_CONTACT for mol in poses(tmp_path / "out"))


def test_3_a_box_of_zero_size_and_a_truncated_protein(tmp_path, model_files):
    box = tmp_path / "box.json"
    box.write_text(json.dumps({"center_x": 0, "center_y": 0, "center_z": 0, "size_x": 10, "size_y": -2, "size_z": 10}))
    line = one_error_line(predict(tmp_path / "a", "--checkpoint", model_files[POCKET], "--box", box))
    assert "box.json: box size 10 x -2 x 10 A: every edge must be positive" in line
    truncated = tmp_path / "truncated.pdb"
    truncated.write_text("\n".join(protein_path(NAME).read_text().splitlines()[:40]))  # the 40-line file
    result = predict(tmp_path / "b", "--checkpoint", model_files[BLIND], protein=truncated)
    assert result.exit_code == 0, result.output
    assert "warning: only" in result.stderr and "is the protein complete?" in result.stderr


# 4. an unusable --out gave a traceback after all the compute; every error waited for the model
@pytest.fixture()
def no_model_loading(monkeypatch):
    """Loading a model fails the test: the inputs must be refused before."""
    monkeypatch.setattr(
        DockingModel, "load", classmethod(lambda cls, *args, **kwargs: pytest.fail("model loaded before the inputs were checked"))
    )


def test_4_an_unusable_output_folder_is_refused_before_the_model_loads(tmp_path, model_files, no_model_loading):
    (tmp_path / "file").write_text("")
    line = one_error_line(predict(tmp_path / "file", "--checkpoint", model_files[BLIND]))
    assert "file: exists and is not a folder" in line
    line = one_error_line(predict(tmp_path / "file" / "sub", "--checkpoint", model_files[BLIND]))
    assert "sub: cannot write there" in line
    line = one_error_line(predict(tmp_path / "out", "--checkpoint", model_files[BLIND], protein=tmp_path / "absent.pdb"))
    assert "absent.pdb: file not found" in line


def test_4_a_missing_file_is_refused_within_seconds_without_torch_geometric(tmp_path):
    script = (
        "import sys, time; start = time.perf_counter()\n"
        "from typer.testing import CliRunner; from disco_dock.cli import app\n"
        f"result = CliRunner().invoke(app, ['predict', '--protein', '{tmp_path / 'absent.pdb'}', '--ligand', 'CCO', '--out', '{tmp_path / 'o'}'])\n"
        "print(result.exit_code, 'torch_geometric' in sys.modules, round(time.perf_counter() - start, 2))\n"
    )
    status, imported, seconds = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert (status, imported) == ("2", "False"), seconds


# 5. a rerun into a folder left the old rank3..rank10.sdf of another ligand beside the new ones
def test_5_a_rerun_is_refused_unless_overwrite_which_leaves_only_new_files(tmp_path, model_files):
    out = tmp_path / "out"
    assert predict(out, "--checkpoint", model_files[BLIND], "--samples", "3").exit_code == 0
    line = one_error_line(predict(out, "--checkpoint", model_files[BLIND], ligand="CCO"))
    assert "holds an earlier run's results" in line and "--overwrite" in line
    assert len(poses(out)) == 3
    assert predict(out, "--checkpoint", model_files[BLIND], "--overwrite", ligand="CCO").exit_code == 0
    assert sorted(path.name for path in out.glob("rank*.sdf")) == ["rank1.sdf", "rank2.sdf"]
    assert {mol.GetProp("_Name") for mol in poses(out)} == {"ligand"}


# 6. Ctrl-C in a batch left no summaries and a rerun started from zero; shards for job arrays
def test_6_ctrl_c_in_a_batch_keeps_what_finished_and_a_rerun_resumes(tmp_path, model_files, monkeypatch):
    table = write_csv(
        tmp_path / "batch.csv",
        ["protein", "ligand", "name"],
        [[protein_path(NAME), smiles, f"c{i}"] for i, smiles in enumerate(["CCO", "CCN", "CCC"])],
    )
    arguments = ["--csv", table, "--out", tmp_path / "out", "--checkpoint", model_files[BLIND], *FAST, *NO_PHYSICS]
    docked, dock_row = [], batch_module.dock_row

    def interrupted_at_c1(row, *args, **kwargs):
        if row["name"] == "c1" and "resumed" not in docked:
            raise KeyboardInterrupt
        docked.append(row["name"])
        return dock_row(row, *args, **kwargs)

    monkeypatch.setattr(batch_module, "dock_row", interrupted_at_c1)
    result = run(*arguments)
    assert result.exit_code == 130 and "interrupted: what finished is in" in result.stderr
    assert [row["name"] for row in results(tmp_path / "out" / "results.csv")] == ["c0", "c0"]
    assert results(tmp_path / "out" / "failures.csv") == []
    docked[:] = ["resumed"]
    result = run(*arguments)
    assert result.exit_code == 0, result.output
    assert docked == ["resumed", "c1", "c2"] and "1 done before (skipped)" in result.stdout
    assert [row["name"] for row in results(tmp_path / "out" / "results.csv")] == ["c0", "c0", "c1", "c1", "c2", "c2"]


def test_6_shards_split_the_rows_and_a_plain_run_merges_them(tmp_path, model_files):
    table = write_csv(tmp_path / "batch.csv", ["protein", "ligand"], [[protein_path(NAME), smiles] for smiles in ["CCO", "CCN", "CCC"]])
    arguments = ["--csv", table, "--out", tmp_path / "out", "--checkpoint", model_files[BLIND], *FAST, *NO_PHYSICS]
    for index in (0, 1):
        assert run(*arguments, "--shard", f"{index}/2").exit_code == 0
    shards = [{row["name"] for row in results(tmp_path / "out" / f"results.shard-{index}-of-2.csv")} for index in (0, 1)]
    assert shards == [{"row1", "row3"}, {"row2"}]
    result = run(*arguments)
    assert "0 complexes docked, 3 done before (skipped)" in result.stdout
    assert len(results(tmp_path / "out" / "results.csv")) == 6
    assert "shard i/n needs 0 <= i < n" in one_error_line(run(*arguments, "--shard", "2/2"))


# 7. memory grew with the samples (one batch); a single predict printed nothing until the end
def test_7_samples_are_denoised_in_batches_of_bounded_size(tmp_path, model_files, monkeypatch):
    graph = complex_graph(NAME, read_protein(protein_path(NAME)), docking_ligand(ligand_path(NAME)), 0)
    nodes = graph["ligand"].num_nodes + graph["receptor"].num_nodes
    assert batch_sizes(graph, 5, 2 * nodes + 1) == [2, 2, 1] and batch_sizes(graph, 3, 1) == [1, 1, 1]
    seen = []
    monkeypatch.setattr(
        "disco_dock.docking.dock.sample_poses", lambda model, batch, *args: seen.append(batch.num_graphs) or batch["ligand"].pos
    )
    result = predict(tmp_path / "out", "--checkpoint", model_files[BLIND], "--samples", "5", "--batch-nodes", 2 * nodes)
    assert result.exit_code == 0, result.output
    assert seen == [2, 2, 1]
    assert "sampled 2/5 poses" in result.stderr and "sampled 5/5 poses" in result.stderr


def test_7_one_batch_gives_the_poses_of_unbatched_sampling_and_batches_are_deterministic(model_files):
    def positions(**settings) -> np.ndarray:
        sampling = SamplingConfig(steps=2, **settings)
        return disco_dock.dock(protein_path(NAME), "CCO", samples=3, model=model_files[BLIND], physics=NO_VINA, sampling=sampling).positions

    np.testing.assert_array_equal(positions(), positions(batch_nodes=10**6))  # the default fits 3 copies of 1ia1 in one batch
    np.testing.assert_array_equal(positions(batch_nodes=1), positions(batch_nodes=1))


# 8. `predict --help` swallowed every default
def test_8_help_shows_the_defaults():
    text = " ".join(run("--help").stdout.split())
    for default in (
        f"[default: {SAMPLING.samples};",
        f"[default: {SAMPLING.steps};",
        "[default: refine]",
        "[default: checks]",
        "[default: auto]",
    ):
        assert default in text
    assert "[default: the ligand file's stem, or 'ligand' for SMILES]" in text


# 9. no multi-pose SDF, no complex file, no run record; SMILES named after the protein; nan confidence without a word
def test_9_outputs_chemists_use(tmp_path, model_files):
    out = tmp_path / "out"
    assert predict(out, "--checkpoint", model_files[BLIND], "--hydrogens", ligand="CC(=O)Nc1ccc(O)cc1").exit_code == 0
    together = list(Chem.SDMolSupplier(str(out / "poses.sdf"), removeHs=False))
    assert [mol.GetProp("rank") for mol in together] == ["1", "2"] and together[0].GetNumAtoms() == 20  # with hydrogens
    assert {mol.GetProp("_Name") for mol in together} == {"ligand"}
    complex_lines = (out / "complex.pdb").read_text().splitlines()
    assert any(line.startswith("ATOM") for line in complex_lines)
    assert sum(line.startswith("HETATM") and line[17:20] == "LIG" for line in complex_lines) == 20
    record = json.loads((out / "run.json").read_text())
    assert {"command", "models", "sampling", "physics", "versions", "seconds", "warnings"} <= set(record)
    assert record["sampling"]["samples"] == 2 and set(record["seconds"]) >= {"inputs", "sampling", "ranking"}
    assert predict(tmp_path / "named", "--checkpoint", model_files[BLIND], "--name", "paracetamol", ligand="CCO").exit_code == 0
    assert poses(tmp_path / "named")[0].GetProp("_Name") == "paracetamol"


def test_9_a_model_without_confidence_says_so(tmp_path):
    score_only = tmp_path / "score_only.pt"
    model = DockingModel.build(DockingConfig(mode=BLIND, model=TINY_DOCKING))
    model.confidence = None
    model.save(score_only)
    result = predict(tmp_path / "out", "--checkpoint", score_only)
    assert result.exit_code == 0, result.output
    assert "warning: the model has no confidence model: every confidence is nan" in result.stderr
    assert all(math.isnan(float(row["confidence"])) for row in results(tmp_path / "out" / "results.csv"))


# 10. `import disco_dock` exposed nothing; docking from Python took four internal imports and wrote files
def test_10_the_python_api_docks_in_memory_and_writes_on_request(tmp_path, model_files):
    result = disco_dock.dock(protein_path(NAME), ligand_path(NAME), pocket=crystal_centre(NAME), samples=2, model=model_files[POCKET],
                             physics=NO_VINA, sampling=SamplingConfig(steps=2))  # fmt: skip
    assert isinstance(result, DockingResult) and result.mode == POCKET and not list(tmp_path.iterdir())
    assert isinstance(result.poses[0].mol, Chem.Mol) and result.poses[0].rank == 1
    files = disco_dock.write(result, tmp_path / "out")
    assert files == [tmp_path / "out" / "rank1.sdf", tmp_path / "out" / "rank2.sdf"] and (tmp_path / "out" / "poses.sdf").is_file()
    light = subprocess.run([sys.executable, "-c", "import sys, disco_dock; print(sorted(disco_dock.__all__), 'torch' in sys.modules)"],
                           capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    assert light == "['dock', 'write'] False"


def test_10_the_readme_starts_with_the_demo_and_the_demo_docks_a_real_complex(tmp_path):
    readme = (Path(disco_dock.__file__).parent.parent / "README.md").read_text()
    commands = [line.strip() for line in readme.splitlines() if line.startswith("    bash setup.sh")]
    assert commands[0] == "bash setup.sh && .venv/bin/disco-dock demo" and commands[1] == "bash setup.sh && .venv/bin/python -m pytest -q"


@pytest.mark.slow
def test_10_demo(tmp_path):
    result = run("--out", tmp_path / "demo", "--samples", "2", "--device", "cpu", command="demo")
    assert result.exit_code == 0, result.output
    assert "top-1 RMSD to the crystal pose:" in result.stdout and (tmp_path / "demo" / "complex.pdb").is_file()
