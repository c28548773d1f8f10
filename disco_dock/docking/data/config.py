"""Settings of the docking data layer, in one place."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class DataConfig:
    """Graph radii and caps, conformer generation and conformer matching settings.

    The defaults follow DiffDock (receptor radius 15 A with at most 24 neighbours per residue,
    ligand radius 5 A).
    """

    receptor_radius: float = 15.0
    """Receptor residue-residue edges: CA atoms closer than this (A)."""
    receptor_max_neighbors: int = 24
    """At most this many receptor neighbours per residue (the nearest are kept)."""
    ligand_radius: float = 5.0
    """Ligand atom-atom radius edges: atoms closer than this (A), bonded or not."""
    ligand_max_neighbors: int = 32
    """At most this many radius neighbours per ligand atom (the nearest are kept)."""
    seed: int = 0
    """Seed of ETKDG conformer generation."""
    num_conformers: int = 3
    """ETKDG conformers tried per ligand; the one that matches the crystal pose best is kept
    (on 108 PDBbind complexes, median matched RMSD 0.21 A with 1, 0.19 A with 3, 0.18 A with 5;
    0.13, 0.32, 0.46 s per complex)."""
    embed_timeout_s: int = 60
    """Give up embedding a ligand after this many seconds (macrocycles, large peptides)."""
    mmff_max_iters: int = 500
    """MMFF (UFF where MMFF lacks parameters) relaxation steps after embedding."""
    match_steps_deg: tuple[float, ...] = (30.0, 10.0, 3.0, 1.0)
    """Conformer matching: torsion steps of the coordinate descent, coarse to fine (degrees)."""
    match_rounds: int = 3
    """Conformer matching: at most this many sweeps over the rotatable bonds per step size."""

    def replace(self, **changes: object) -> "DataConfig":
        """A copy with some settings changed."""
        return dataclasses.replace(self, **changes)
