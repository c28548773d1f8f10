"""Peak memory of docking: the process's peak so far, and blind docking runs (`MEMORY_CASES`)
measured each in a fresh process, so that a peak is the run's own, beside the figures measured
before sampling was batched (`BEFORE_BATCHING`). The 5,540-residue protein is 1of6 twice, side by
side (`tiled_protein`)."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import multiprocessing
import resource
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from disco_dock.docking.config import BLIND, SamplingConfig
from disco_dock.docking.data.discover import discover_complexes

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class MemoryCase:
    """A blind docking run whose peak memory is measured: posebusters complex `complex`'s ligand
    into its protein repeated `copies` times side by side, `samples` samples."""

    label: str
    complex: str
    copies: int
    samples: int


MEMORY_CASES = (MemoryCase("blind, 40 samples, 1of6 (2,770 residues)", "1of6", 1, 40),
                MemoryCase("blind, 10 samples, 1of6 twice (5,540 residues)", "1of6", 2, 10))  # fmt: skip
BEFORE_BATCHING = {
    MEMORY_CASES[0].label: "15,696 MiB (benchmarks/results/speed before batching)",
    MEMORY_CASES[1].label: "7.5 GB (issue 15: 5,013 residues, 4 min 22 s)",
}
"""Peak memory of the same runs when every sample was denoised in one batch, as measured then."""
COPY_SHIFT = 150.0
"""Each copy of a tiled protein is moved this far along x (A): the copies do not touch."""


def peak_memory(device: torch.device) -> dict[str, float | None]:
    """The process's peak resident set so far (MiB) and, on CUDA, the peak allocated since the last reset (MiB)."""
    import torch

    cuda = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return {"max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "cuda_max_allocated_mib": cuda}


def tiled_protein(protein: Path, copies: int, out: Path) -> Path:
    """A PDB file at `out` with the ATOM records of `protein` repeated `copies` times, copy k
    moved k * COPY_SHIFT A along x with its own chain ids (a large protein from a real one)."""
    atoms = [line for line in protein.read_text().splitlines() if line.startswith("ATOM")]
    chains = sorted({line[21] for line in atoms})
    spare = iter(character for character in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" if character not in chains)
    lines = []
    for copy in range(copies):
        renamed = {chain: chain if copy == 0 else next(spare) for chain in chains}
        for line in atoms:
            x = float(line[30:38]) + copy * COPY_SHIFT
            lines.append(f"{line[:21]}{renamed[line[21]]}{line[22:30]}{x:8.3f}{line[38:]}")
    out.write_text("\n".join([*lines, "END"]) + "\n")
    return out


def docking_peak(protein: str, ligand: str, samples: int, steps: int, seed: int, device: str) -> dict:
    """Run in a fresh process: blind `dock` + `write_result` as `disco-dock predict` does; its
    seconds, peak RSS and (CUDA) peak allocated memory."""
    from disco_dock.core.training import pick_device
    from disco_dock.docking.bundle import DockingModel, default_model_path
    from disco_dock.docking.dock import dock
    from disco_dock.docking.writer import write_result

    torch_device = pick_device(device)
    model = DockingModel.load(default_model_path(BLIND), torch_device)
    sampling = SamplingConfig(samples=samples, steps=steps, seed=seed)
    with tempfile.TemporaryDirectory(prefix="disco-dock-memory-") as folder:
        begin = time.perf_counter()
        result = dock(protein, ligand, model, None, sampling, torch_device)
        write_result(result, folder)
        seconds = time.perf_counter() - begin
    return {"seconds": seconds, **peak_memory(torch_device)}


def measure_memory(complexes: Path, steps: int, seed: int, device: str, log: Callable[[str], None]) -> list[dict]:
    """Each of `MEMORY_CASES` in a fresh process, complexes from the folder `complexes` (posebusters'),
    with the figure before batching."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="disco-dock-memory-") as folder:
        for case in MEMORY_CASES:
            source = next(source for source in discover_complexes(complexes) if source.name == case.complex)
            protein = (
                Path(source.protein) if case.copies == 1 else tiled_protein(Path(source.protein), case.copies, Path(folder) / "tiled.pdb")
            )
            with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as process:
                peak = process.submit(docking_peak, str(protein), str(source.ligand), case.samples, steps, seed, device).result()
            rows.append({**dataclasses.asdict(case), **peak, "before_batching": BEFORE_BATCHING[case.label]})
            log(f"memory, {case.label}: peak RSS {peak['max_rss_mib']:.0f} MiB in {peak['seconds']:.1f} s")
    return rows
