"""The memory benchmark's large protein (a real one repeated) and its table beside the figures before batching."""

from __future__ import annotations

from disco_dock.benchmark.memory import BEFORE_BATCHING, MEMORY_CASES, tiled_protein
from disco_dock.benchmark.speed import speed_markdown
from disco_dock.docking.data.protein import read_protein
from tests.benchmark.test_speed import _summary
from tests.support.complexes import protein_path


def test_a_tiled_protein_repeats_every_residue_with_new_chains(tmp_path):
    single = read_protein(protein_path("1ia1"))
    tiled = read_protein(tiled_protein(protein_path("1ia1"), 2, tmp_path / "tiled.pdb"))
    assert len(tiled) == 2 * len(single)
    assert set(tiled.chain_ids[: len(single)]).isdisjoint(tiled.chain_ids[len(single) :])
    assert (tiled.ca[len(single) :, 0] - tiled.ca[: len(single), 0]).round(2).tolist() == [150.0] * len(single)


def test_the_memory_table_shows_the_figures_before_batching():
    rows = [{"label": case.label, "seconds": 10.0, "max_rss_mib": 1500.0, "cuda_max_allocated_mib": None, "before_batching": BEFORE_BATCHING[case.label]}
            for case in MEMORY_CASES]  # fmt: skip
    table = speed_markdown({**_summary(), "memory": rows})
    assert f"| {MEMORY_CASES[0].label} | 10.00 | 1500 | - | 15,696 MiB (benchmarks/results/speed before batching) |" in table
