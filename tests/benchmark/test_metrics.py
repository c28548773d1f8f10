"""Benchmark harness: RMSD (symmetry), summaries, failures, resumability, and Vina on a real complex."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from disco_dock.benchmark.config import LEARNED_ONLY, BenchmarkConfig, Subset
from disco_dock.benchmark.harness import run_benchmark
from disco_dock.benchmark.methods import DiscoDockMethod, MethodOutput, MethodSpec, ModelFile
from disco_dock.benchmark.metrics import summarize
from disco_dock.docking.bundle import DockingModel
from disco_dock.docking.config import POCKET, SamplingConfig
from disco_dock.docking.data.discover import discover_complexes
from disco_dock.docking.data.ligand import heavy_positions_in_reference_order
from disco_dock.docking.data.redocking import load_complex
from disco_dock.docking.dock import dock
from disco_dock.docking.pocket import Pocket
from disco_dock.docking.rmsd import plain_rmsd, pose_rmsds
from tests.support.complexes import ligand_path, make_complex, protein_path


def _embedded(smiles: str) -> Chem.Mol:
    """A heavy-atom molecule with one seeded 3D conformer."""
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    AllChem.EmbedMolecule(mol, randomSeed=1)
    return Chem.RemoveHs(mol)


def _tert_butyl_benzoate() -> Chem.Mol:
    """Symmetric groups: carboxylate oxygens, tert-butyl methyls (atoms 0, 2, 3 on carbon 1)."""
    return _embedded("CC(C)(C)c1ccc(cc1)C(=O)[O-]")


def test_pose_rmsd_with_itself_is_zero():
    mol = _tert_butyl_benzoate()
    result = pose_rmsds(mol, mol.GetConformer().GetPositions()[None])
    assert result.symmetry_corrected
    assert result.values == pytest.approx([0.0], abs=1e-6)


def test_symmetric_atoms_swapped_cost_nothing_with_spyrmsd_only():
    mol = _tert_butyl_benzoate()
    pos = mol.GetConformer().GetPositions()
    swapped = pos.copy()
    oxygens = [atom.GetIdx() for atom in mol.GetAtoms() if atom.GetAtomicNum() == 8]
    swapped[oxygens] = pos[oxygens[::-1]]
    swapped[[0, 2, 3]] = pos[[2, 3, 0]]  # rotate the tert-butyl's methyls
    assert plain_rmsd(swapped[None], pos)[0] > 0.5
    assert pose_rmsds(mol, swapped[None]).values == pytest.approx([0.0], abs=1e-6)


def test_summary_fractions_and_failures_as_misses():
    records = [
        {"complex": "a", "rmsds": [1.0, 6.0], "runtime_s": 10.0, "error": "", "posebusters": {"valid": True}},
        {"complex": "b", "rmsds": [3.0, 1.5], "runtime_s": 20.0, "error": "", "posebusters": {"valid": False}},
        {"complex": "c", "rmsds": [7.0], "runtime_s": 30.0, "error": "", "posebusters": {"valid": None, "error": "x"}},
        {"complex": "d", "runtime_s": 40.0, "error": "Vina crashed"},
    ]
    summary = summarize(records)
    assert summary.n == 4 and summary.failures == 1
    assert summary.top1_below == {"2.0": 0.25, "5.0": 0.5}
    assert summary.best_of_n_below["2.0"] == 0.5
    assert summary.median_top1_rmsd == pytest.approx(5.0)  # median of 1, 3, 7, inf
    assert summary.posebusters_valid_top1 == 0.25 and summary.posebusters_errors == 1
    assert summary.median_seconds == 25.0
    assert summary.median_cpu_seconds is None  # not every record has its CPU seconds
    assert summarize([record | {"cpu_s": record["runtime_s"] / 2} for record in records]).median_cpu_seconds == 12.5


def test_poses_are_reordered_to_the_crystal_atom_order():
    mol = _embedded("CCOC(=O)c1ccc(N)cc1Cl")  # no symmetry: one match only
    shuffled = Chem.RenumberAtoms(mol, list(range(mol.GetNumAtoms()))[::-1])
    positions = heavy_positions_in_reference_order(Chem.AddHs(shuffled, addCoords=True), mol)
    np.testing.assert_allclose(positions[0], mol.GetConformer().GetPositions())


class CountingMethod:
    """A fake method that returns the crystal pose (or fails) and counts its calls."""

    def __init__(self, fail: bool = False):
        self.calls = 0
        self.fail = fail

    def __call__(self, complex_) -> MethodOutput:
        self.calls += 1
        if self.fail:
            raise RuntimeError("no pose today")
        return MethodOutput(complex_.reference_positions[None], [0.0])


def _dataset(root: Path) -> Path:
    for name in ("1ia1", "1of6"):
        make_complex(root, name, protein_path(name), ligand_path(name))
    return root


def test_harness_resumes_and_counts_failures(tmp_path):
    config = BenchmarkConfig(data_dir=_dataset(tmp_path / "data"), out_dir=tmp_path / "out", posebusters=False)
    good, bad = CountingMethod(), CountingMethod(fail=True)
    summary = run_benchmark(config, {"good": good, "bad": bad}, log=lambda _: None)
    assert (good.calls, bad.calls) == (2, 2)
    assert summary["results"]["all"]["good"]["top1_below"]["2.0"] == 1.0
    assert summary["results"]["all"]["bad"]["n"] == 2 and summary["results"]["all"]["bad"]["top1_below"]["5.0"] == 0.0
    failure = json.loads((tmp_path / "out" / "bad.jsonl").read_text().splitlines()[0])
    assert "no pose today" in failure["error"]

    again = CountingMethod()
    run_benchmark(config, {"good": again}, log=lambda _: None)
    assert again.calls == 0  # both complexes already done
    assert (tmp_path / "out" / "summary.md").read_text().count("| good |") == 1


def test_named_subsets_are_reported_on_their_own(tmp_path):
    ids = tmp_path / "first.txt"
    ids.write_text("1of6\n")
    subsets = (Subset.parse(f"first={ids}"),)
    config = BenchmarkConfig(data_dir=_dataset(tmp_path / "data"), out_dir=tmp_path / "out", posebusters=False, subsets=subsets)
    summary = run_benchmark(config, {"good": CountingMethod()}, log=lambda _: None)
    assert summary["results"]["all"]["good"]["n"] == 2 and summary["results"]["first"]["good"]["n"] == 1
    assert "### Subset first (1 complexes selected; N = those done)" in summary["markdown"]


@pytest.mark.parametrize("text", ["first", "=ids.txt", "first=", "bad name=ids.txt"])
def test_a_subset_is_a_name_and_a_file(text):
    with pytest.raises(ValueError, match="NAME=IDS_FILE"):
        Subset.parse(text)


def test_subset_names_must_differ(tmp_path):
    with pytest.raises(ValueError, match="subset names"):
        BenchmarkConfig(data_dir=tmp_path, out_dir=tmp_path, subsets=(Subset("all", tmp_path / "ids.txt"),))


class SlowMethod:
    """A fake method that computes for `seconds` of CPU time per complex, then returns the crystal pose."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def __call__(self, complex_) -> MethodOutput:
        end = time.process_time() + self.seconds
        while time.process_time() < end:
            pass
        return MethodOutput(complex_.reference_positions[None], [0.0])


def test_a_method_over_the_time_cap_misses_that_complex(tmp_path):
    config = BenchmarkConfig(data_dir=_dataset(tmp_path / "data"), out_dir=tmp_path / "out", posebusters=False, time_cap_s=2.0)
    summary = run_benchmark(config, {"quick": SlowMethod(0.0), "slow": SlowMethod(60.0), "bad": CountingMethod(fail=True)}, log=lambda _: None)
    results = summary["results"]["all"]
    assert results["quick"]["top1_below"]["2.0"] == 1.0  # the value came back from the child process
    assert results["slow"]["n"] == 2 and results["slow"]["top1_below"]["5.0"] == 0.0
    slow = [json.loads(line) for line in (tmp_path / "out" / "slow.jsonl").read_text().splitlines()]
    assert all(record["error"] == "over the time cap of 2 CPU s" and record["runtime_s"] < 30 for record in slow)
    assert all(record["cpu_s"] >= 1.9 for record in slow)  # the child's CPU time, counted once it ended
    assert json.loads((tmp_path / "out" / "bad.jsonl").read_text().splitlines()[0])["error"] == "RuntimeError: no pose today"


@pytest.mark.parametrize("changes", [{"time_cap_s": 0.0}, {"time_cap_s": 60.0, "device": "cuda"}])
def test_a_time_cap_needs_positive_seconds_and_the_cpu(tmp_path, changes):
    with pytest.raises(ValueError):
        BenchmarkConfig(data_dir=tmp_path, out_dir=tmp_path / "out", **changes)


def test_disco_dock_methods_through_dock(tmp_path, model_files):
    data = tmp_path / "data"
    make_complex(data, "1ia1", protein_path("1ia1"), ligand_path("1ia1"))
    config = BenchmarkConfig(
        data_dir=data, out_dir=tmp_path / "out", methods=("disco-dock-blind", "disco-dock-pocket", "disco-dock-pocket-vina"),
        model=model_files["blind"], samples=2, steps=2, posebusters=False, vina_exhaustiveness=1, vina_poses=2,
    )  # a blind model also docks into a given pocket
    summary = run_benchmark(config, log=lambda _: None)
    for method in config.methods:
        (record,) = (tmp_path / "out" / f"{method}.jsonl").read_text().splitlines()
        record = json.loads(record)
        assert not record["error"], record["error"]
        assert len(record["rmsds"]) == len(record["sources"]) == len(record["vina_scores"]) and record["symmetry_corrected"]
        assert summary["results"]["all"][method]["n"] == 1
        assert ("vina" in record["sources"]) == (method == "disco-dock-pocket-vina")


def test_disco_dock_method_docks_the_start_molecule_in_memory_into_the_box(tmp_path, model_files, monkeypatch):
    (source,) = discover_complexes(make_complex(tmp_path / "data", "1ia1", protein_path("1ia1"), ligand_path("1ia1")).parent)
    complex_ = load_complex(source, seed=0, box_padding=10.0)
    config = BenchmarkConfig(data_dir=tmp_path / "data", out_dir=tmp_path / "out", samples=2, steps=2)
    monkeypatch.setattr(Chem, "SDWriter", None)  # no file round trip
    output = DiscoDockMethod(config, MethodSpec("pocket", POCKET, ModelFile.read(model_files[POCKET]), LEARNED_ONLY))(complex_)
    model = DockingModel.load(model_files[POCKET])
    pocket = Pocket.from_box(complex_.box, model.config.pocket.radius)
    result = dock(complex_.protein, complex_.start, model, pocket, SamplingConfig(samples=2, steps=2), physics=LEARNED_ONLY)
    np.testing.assert_array_equal(output.poses, result.positions)  # the start conformer is in the crystal's atom order
    assert output.scores == result.confidences.tolist()


@pytest.mark.skipif(importlib.util.find_spec("vina") is None, reason="the `vina` package is not installed (pip install -e '.[test]')")
def test_vina_docks_a_real_complex(tmp_path):
    from disco_dock.benchmark.vina import dock_with_vina

    (source,) = discover_complexes(make_complex(tmp_path, "1ia1", protein_path("1ia1"), ligand_path("1ia1")).parent)
    complex_ = load_complex(source, seed=0, box_padding=10.0)
    config = BenchmarkConfig(data_dir=tmp_path, out_dir=tmp_path / "out", vina_exhaustiveness=1, vina_poses=1)
    start = time.perf_counter()
    result = dock_with_vina(complex_, config)
    assert time.perf_counter() - start < 60
    assert result.poses.shape == (1, complex_.crystal.mol.GetNumAtoms(), 3)
    assert len(result.scores) == 1 and result.scores[0] < 0
    assert np.isfinite(pose_rmsds(complex_.crystal.mol, result.poses).values[0])


def test_summaries_also_rank_each_pool_by_vina_score():
    records = [
        {"rmsds": [3.0, 1.0], "vina_scores": [-5.0, -7.0], "runtime_s": 1.0, "error": ""},
        {"rmsds": [1.5, 4.0], "vina_scores": [-8.0, float("nan")], "runtime_s": 1.0, "error": ""},
        {"rmsds": [1.0], "runtime_s": 1.0, "error": "", "vina_scores": [float("nan")]},
    ]
    summary = summarize(records)
    assert summary.top1_below["2.0"] == 2 / 3
    assert summary.top1_by_vina_score_below["2.0"] == 2 / 3  # the third pool has no score: a miss
    assert summarize([{"rmsds": [1.0], "runtime_s": 1.0, "error": ""}]).top1_by_vina_score_below is None
