"""Every setting of a benchmark run, in one typed place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

VINA, DISCO_BLIND, DISCO_POCKET = "vina", "disco-dock-blind", "disco-dock-pocket"
METHODS = (VINA, DISCO_BLIND, DISCO_POCKET)
"""The methods the harness knows."""


@dataclass(frozen=True)
class BenchmarkConfig:
    """What to run, on which complexes, and where to write the results."""

    data_dir: Path
    """Dataset folder in PDBbind (`<id>/<id>_protein.pdb`, `_ligand.sdf`) or Astex layout."""
    out_dir: Path
    """Where the per-method JSON lines, `summary.json` and `summary.md` go."""
    split: Path | None = None
    """File of complex IDs to run (one a line); None = every complex in `data_dir`."""
    no_rec_overlap: Path | None = None
    """File of IDs whose proteins are unseen in training; reported as a second table."""
    methods: tuple[str, ...] = (VINA,)
    model: Path | None = None
    """disco-dock model bundle; None = `bundle.default_model_path(mode)` for each mode."""
    samples: int = 10
    """disco-dock poses per complex."""
    steps: int = 20
    """disco-dock reverse-diffusion steps."""
    limit: int | None = None
    """Run only the first `limit` complexes (after the split)."""
    seed: int = 0
    """Seed of the PDBbind starting conformers, Vina and disco-dock's sampling."""
    box_padding: float = 10.0
    """Box edge = the crystal ligand's extent + this (A, per axis), where no `_box.json` is given."""
    vina_exhaustiveness: int = 8
    vina_poses: int = 10
    vina_cpu: int = 1
    posebusters: bool = True
    """Run PoseBusters' `dock` checks on every top-1 pose."""
    device: str = "cpu"
    """Torch device for disco-dock."""

    def __post_init__(self):
        unknown = sorted(set(self.methods) - set(METHODS))
        if unknown:
            raise ValueError(f"unknown method(s) {', '.join(unknown)}: choose from {', '.join(METHODS)}")
