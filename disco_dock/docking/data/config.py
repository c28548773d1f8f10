"""Settings of the docking data layer: the graph's radii (shared with the networks) and ligand conformers."""

from __future__ import annotations

from dataclasses import dataclass

from disco_dock.core.config import Settings


@dataclass(frozen=True)
class GraphConfig(Settings):
    """Radii and neighbour caps of a complex graph's edges, as DiffDock's (receptor radius 15 A with
    at most 24 neighbours per residue, ligand radius 5 A). The data layer stores edges with them and
    the networks rebuild the ligand's edges from its current pose with the same values, so they live
    once, in the model's settings (`ScoreModelConfig.graph`)."""

    receptor_radius: float = 15.0
    """Receptor residue-residue edges: CA atoms closer than this (A)."""
    receptor_max_neighbors: int = 24
    """At most this many receptor neighbours per residue (the nearest are kept)."""
    ligand_radius: float = 5.0
    """Ligand atom-atom radius edges: atoms closer than this (A), bonded or not; also the radius
    of the torsion heads' bond-centred neighbourhoods."""
    ligand_max_neighbors: int = 32
    """At most this many radius neighbours per ligand atom (the nearest are kept)."""


@dataclass(frozen=True)
class DataConfig(Settings):
    """Conformer generation and conformer matching of the training data."""

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
