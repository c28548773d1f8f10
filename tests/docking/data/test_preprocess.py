"""Discovery, the preprocessing run (cache, resume, failures, summary) and the lazy dataset."""

from __future__ import annotations

import csv
import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from torch_geometric.data import HeteroData
from torch_geometric.loader import DataLoader

from disco_dock.docking.data.cache import CACHE_FORMAT, load_graph, save_graph
from disco_dock.docking.data.dataset import ComplexDataset
from disco_dock.docking.data.discover import ComplexSource, discover_complexes
from disco_dock.docking.data.errors import DataError, DataWarning
from disco_dock.docking.data.graph import LIGAND, RECEPTOR
from disco_dock.docking.data.preprocess import FAILURES_FILE, STATS_FILE, SUMMARY_FILE, preprocess_dataset, process_complex
from tests.support.complexes import COMPLEXES, POSEBUSTERS, ligand_path, make_complex, protein_path


def assert_graphs_equal(a: HeteroData, b: HeteroData) -> None:
    assert a.node_types == b.node_types and a.edge_types == b.edge_types and a.name == b.name
    for store_a, store_b in zip(a.stores, b.stores):
        assert sorted(store_a.keys()) == sorted(store_b.keys())
        for key in store_a.keys():
            if isinstance(store_a[key], torch.Tensor):
                assert torch.equal(store_a[key], store_b[key]) or torch.allclose(store_a[key], store_b[key], equal_nan=True), key
            else:
                assert store_a[key] == store_b[key], key


def test_discover_layouts(tmp_path: Path) -> None:
    # posebusters' own folder: `_protein_one_lig_removed.pdb`, no MOL2
    found = discover_complexes(POSEBUSTERS)
    assert [s.name for s in found] == list(COMPLEXES)
    assert found[0] == ComplexSource("1ia1", protein_path("1ia1"), str(ligand_path("1ia1")), None)
    # PDBbind: processed protein preferred, MOL2 as the SDF's fallback, other files ignored
    folder = make_complex(tmp_path / "pdbbind", "1abc", protein="x", ligand="x")
    for extra in ("_protein_processed.pdb", "_ligand.mol2", "_pocket.pdb", "_ligand_start_conf.sdf"):
        (folder / f"1abc{extra}").write_text("x")
    (tmp_path / "pdbbind" / "notes").mkdir()  # a folder without complex files is not a complex
    [source] = discover_complexes(tmp_path / "pdbbind")
    assert source == ComplexSource("1abc", folder / "1abc_protein_processed.pdb", str(folder / "1abc_ligand.sdf"), folder / "1abc_ligand.mol2")
    # MOL2 only
    folder = make_complex(tmp_path / "mol2", "2xyz", protein="x", ligand="x", ligand_suffix=".mol2")
    assert discover_complexes(tmp_path / "mol2")[0].ligand == str(folder / "2xyz_ligand.mol2")


def test_discover_manifest(tmp_path: Path) -> None:
    manifest = tmp_path / "complexes.csv"
    manifest.write_text("complex_name,protein_path,ligand_description\nfirst,prot/a.pdb,lig/a.sdf\nsecond,/abs/b.pdb,CCO\n")
    first, second = discover_complexes(manifest)
    assert first == ComplexSource("first", tmp_path / "prot/a.pdb", str(tmp_path / "lig/a.sdf"))
    assert second == ComplexSource("second", Path("/abs/b.pdb"), "CCO")
    manifest.write_text("name,protein\nfirst,a.pdb\n")
    with pytest.raises(DataError, match="complexes.csv: CSV manifest has no ligand_description / ligand_path"):
        discover_complexes(manifest)


def test_cache_round_trip(posebusters_cache: Path, tmp_path: Path) -> None:
    source = ComplexSource("1uou", protein_path("1uou"), str(ligand_path("1uou")))
    graph, stats = process_complex(source)
    assert stats.rmsd_matched < stats.rmsd_rigid and stats.ligand_route == "sdf" and stats.conformer_method == "etkdg"
    save_graph(graph, tmp_path / "1uou.pt")
    assert not list(tmp_path.glob("*.tmp"))
    assert_graphs_equal(load_graph(tmp_path / "1uou.pt"), graph)
    # the preprocessed cache holds the same graph (same seed: deterministic)
    assert_graphs_equal(load_graph(posebusters_cache / "1uou.pt"), graph)


def test_run_outputs_and_resume(posebusters_cache: Path) -> None:
    assert sorted(p.name for p in posebusters_cache.glob("*.pt")) == [f"{n}.pt" for n in COMPLEXES]
    with (posebusters_cache / STATS_FILE).open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["name"] for row in rows] == list(COMPLEXES)
    assert all(float(row["rmsd_matched"]) < float(row["rmsd_rigid"]) for row in rows)
    assert (posebusters_cache / FAILURES_FILE).read_text().strip() == "name,source,reason"
    summary = json.loads((posebusters_cache / SUMMARY_FILE).read_text())
    assert summary["total"] == summary["processed"] == summary["succeeded"] == 4 and summary["failures"] == []
    assert 0 < summary["median_rmsd_matched"] < summary["median_rmsd_rigid"]


def test_resume_skips_cached_and_retries_failures(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_complex(data, "1uou", protein_path("1uou"), ligand_path("1uou"))
    make_complex(data, "1s3v", protein_path("1s3v"), None)  # its ligand is missing
    out = tmp_path / "cache"
    first = preprocess_dataset(data, out, progress=False)
    assert (first.processed, first.cached_before, [f.name for f in first.failures]) == (1, 0, ["1s3v"])
    cached = (out / "1uou.pt").stat().st_mtime_ns
    shutil.copy(ligand_path("1s3v"), data / "1s3v" / "1s3v_ligand.sdf")  # fixed
    second = preprocess_dataset(data, out, progress=False)
    assert (second.processed, second.cached_before, second.failures) == (1, 1, [])
    assert (out / "1uou.pt").stat().st_mtime_ns == cached  # not redone
    assert (out / FAILURES_FILE).read_text().strip() == "name,source,reason"
    assert second.succeeded == 2 and second.median_rmsd_matched > 0


def test_a_cache_file_of_an_older_format_is_refused_and_made_again(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_complex(data, "1uou", protein_path("1uou"), ligand_path("1uou"))
    out = tmp_path / "cache"
    preprocess_dataset(data, out, progress=False)
    current = load_graph(out / "1uou.pt")
    torch.save({"format": CACHE_FORMAT - 1, "graph": current.to_dict()}, out / "1uou.pt")
    with pytest.raises(DataError, match=f"cache format {CACHE_FORMAT - 1}, expected {CACHE_FORMAT}: preprocess again"):
        load_graph(out / "1uou.pt")
    again = preprocess_dataset(data, out, progress=False)
    assert (again.processed, again.cached_before) == (1, 0)
    assert_graphs_equal(load_graph(out / "1uou.pt"), current)


def test_ids_file_manifest_with_smiles_and_workers(tmp_path: Path) -> None:
    manifest = tmp_path / "complexes.csv"
    manifest.write_text(
        "complex_name,protein_path,ligand_description\n"
        f"pose,{protein_path('1uou')},{ligand_path('1uou')}\n"
        f"smiles,{protein_path('1uou')},CC(=O)Nc1ccc(O)cc1\n"
        f"skipped,{protein_path('1ia1')},CCO\n"
    )
    ids = tmp_path / "ids.txt"
    ids.write_text("pose\nsmiles\n# a comment\nabsent\n")
    summary = preprocess_dataset(manifest, tmp_path / "cache", ids=ids, workers=2, progress=False)
    assert summary.total == 3 and summary.processed == 2
    assert [(f.name, f.reason) for f in summary.failures] == [("absent", "no such complex")]
    graph = load_graph(tmp_path / "cache" / "smiles.pt")
    assert torch.isnan(graph[LIGAND].crystal_pos).all() and graph[LIGAND].pos.isfinite().all()


def test_dataset_is_lazy(posebusters_cache: Path, tmp_path: Path) -> None:
    dataset = ComplexDataset(posebusters_cache)
    assert len(dataset) == 4 and dataset.names == list(COMPLEXES)
    assert dataset[2].name == "1s3v"
    # nothing but names is held: the pickled dataset is small, and items are read on access
    assert len(pickle.dumps(dataset)) < 2000
    copy = tmp_path / "cache"
    shutil.copytree(posebusters_cache, copy)
    lazy = ComplexDataset(copy)
    (copy / "1of6.pt").unlink()
    assert lazy[0].name == "1ia1"
    with pytest.raises(DataError, match="1of6.pt: file not found"):
        lazy[1]
    # split files and lists of names; names without a cache file are left out, with a warning
    split = tmp_path / "split.txt"
    split.write_text("1uou\n1ia1\nmissing\n")
    with pytest.warns(DataWarning, match="1 complex"):
        subset = ComplexDataset(posebusters_cache, split)
    assert subset.names == ["1uou", "1ia1"] and subset.missing == ["missing"]
    batch = next(iter(DataLoader(subset, batch_size=2)))
    assert batch.num_graphs == 2 and batch[RECEPTOR].batch.max() == 1
