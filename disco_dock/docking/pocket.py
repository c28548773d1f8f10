"""Where to dock: the pocket (from a Vina box file, a centre or a reference ligand), the docking
mode that follows from it, and the crop of a complex graph's receptor to the residues around it.

Only the crop needs torch_geometric (imported there): reading a pocket is part of the command
line's input checks, which run before the networks and the model are loaded."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from disco_dock.docking.config import BLIND, POCKET
from disco_dock.docking.data.errors import DataError
from disco_dock.docking.data.ligand import read_ligand

if TYPE_CHECKING:
    from torch import Tensor
    from torch_geometric.data import HeteroData

BOX_CENTRE_KEYS, BOX_SIZE_KEYS = ("center_x", "center_y", "center_z"), ("size_x", "size_y", "size_z")
BOX_PADDING = 10.0
"""A search box around a ligand grows each edge by this much (A), as Astex's boxes do."""
NO_POCKET = "this model docks into a pocket: give --box, --pocket-center or --reference-ligand"
BLIND_MODEL_IN_POCKET = "this model was trained for blind docking; docking into the given pocket anyway"
RESIDUE_FIELDS = ("x", "pos", "n_rel", "c_rel", "sidechain_rel", "sidechain_mask")
"""Per-residue fields of the receptor nodes (see docking/data/README.md)."""


@dataclass(frozen=True)
class Box:
    """An axis-aligned search box (A), as Vina's: its centre and edge lengths."""

    center: tuple[float, float, float]
    size: tuple[float, float, float]

    def __post_init__(self):
        if not all(edge > 0 for edge in self.size):  # NaN fails too
            raise ValueError(f"box size {' x '.join(f'{edge:g}' for edge in self.size)} A: every edge must be positive")

    def contains(self, point: np.ndarray) -> bool:
        """Whether `point` (3,) lies inside the box (edges included)."""
        return bool((np.abs(np.asarray(point) - self.center) <= np.asarray(self.size) / 2).all())

    def encloses(self, other: "Box") -> bool:
        """Whether all of `other` lies inside this box (edges included, to 1e-6 A)."""
        reach = np.abs(np.asarray(other.center) - self.center) + np.asarray(other.size) / 2
        return bool((reach <= np.asarray(self.size) / 2 + 1e-6).all())

    def distances(self, points: np.ndarray) -> np.ndarray:
        """(N,) distance (A) from each of `points` (N, 3) to the box, 0 inside it."""
        outside = np.maximum(np.abs(np.asarray(points) - self.center) - np.asarray(self.size) / 2, 0.0)
        return np.linalg.norm(outside, axis=-1)

    @classmethod
    def from_json(cls, path: str | Path) -> "Box":
        """The box of a Vina box JSON file (center_x/y/z, size_x/y/z); DataError naming the file."""
        path = Path(path)
        try:
            values = json.loads(path.read_text())
            x, y, z = (float(values[key]) for key in BOX_CENTRE_KEYS)
            width, height, depth = (float(values[key]) for key in BOX_SIZE_KEYS)
        except FileNotFoundError:
            raise DataError(path, "file not found") from None
        except (OSError, ValueError, TypeError, KeyError) as error:
            keys = ", ".join(BOX_CENTRE_KEYS + BOX_SIZE_KEYS)
            raise DataError(path, f"not a box file: expected JSON with numbers {keys} ({type(error).__name__}: {error})") from None
        try:
            return cls((x, y, z), (width, height, depth))
        except ValueError as error:
            raise DataError(path, str(error)) from None

    @classmethod
    def around(cls, positions: np.ndarray, padding: float) -> "Box":
        """The bounding box of `positions` (N, 3), each edge grown by `padding` (A)."""
        low, high = positions.min(axis=0), positions.max(axis=0)
        x, y, z = ((low + high) / 2).tolist()
        width, height, depth = (high - low + padding).tolist()
        return cls((x, y, z), (width, height, depth))


@dataclass(frozen=True)
class Pocket:
    """Where to dock: the pocket centre (A), the radius of the receptor crop around it (A) and,
    when known (a box file, a reference ligand), the search box of the physics stage."""

    centre: tuple[float, float, float]
    radius: float
    box: Box | None = None

    @classmethod
    def from_box(cls, box: Box, min_radius: float) -> "Pocket":
        """The pocket of a search box: its centre, and a radius of half the box diagonal but at
        least `min_radius` (the model's crop radius)."""
        half_diagonal = 0.5 * math.sqrt(sum(float(edge) ** 2 for edge in box.size))
        x, y, z = (float(value) for value in box.center)
        return cls((x, y, z), max(min_radius, half_diagonal), box)


def docking_mode(pocket_given: bool, model_mode: str | None = None) -> str:
    """The mode a run docks in: POCKET when a pocket is given, else BLIND (the command line picks
    its default model by it, before any model is loaded). Given the model's `model_mode`, also
    checks that the two fit: ValueError(NO_POCKET) for a pocket model without a pocket; a blind
    model given a pocket docks there, with a warning."""
    mode = POCKET if pocket_given else BLIND
    if model_mode == POCKET and mode == BLIND:
        raise ValueError(NO_POCKET)
    if model_mode == BLIND and mode == POCKET:
        warnings.warn(BLIND_MODEL_IN_POCKET, stacklevel=3)
    return mode


def read_box(path: str | Path, min_radius: float) -> Pocket:
    """The pocket of a Vina box JSON file (center_x/y/z, size_x/y/z), as `Pocket.from_box`."""
    return Pocket.from_box(Box.from_json(path), min_radius)


def parse_centre(text: str) -> tuple[float, float, float]:
    """A pocket centre from "x,y,z" (A)."""
    try:
        x, y, z = (float(part) for part in text.split(","))
    except ValueError:
        raise DataError(text, "a pocket centre is three numbers x,y,z") from None
    return x, y, z


def pocket_from_options(
    model_radius: float,
    box: str | Path | None = None,
    centre: str | None = None,
    radius: float | None = None,
    reference_ligand: str | Path | None = None,
) -> Pocket | None:
    """The pocket given by at most one of a box file, a centre "x,y,z" or a reference ligand
    (None when none is). `radius` (default `model_radius`, the model's `PocketConfig.radius`)
    sets the crop radius; a box's radius is at least half its diagonal."""
    given = [option for option in (box, centre, reference_ligand) if option]
    if len(given) > 1:
        raise DataError(", ".join(map(str, given)), "give only one of a box, a pocket centre or a reference ligand")
    radius = model_radius if radius is None else radius
    if box:
        return read_box(box, radius)
    if centre:
        return Pocket(parse_centre(centre), radius)
    if reference_ligand:
        positions = read_ligand(reference_ligand).positions
        x, y, z = positions.mean(axis=0).tolist()
        return Pocket((x, y, z), radius, Box.around(positions, BOX_PADDING))
    return None


class EmptyPocketError(ValueError):
    """No receptor residue lies within the pocket radius of the pocket centre."""


def crop_to_pocket(graph: HeteroData, centre: Tensor, radius: float) -> HeteroData:
    """A copy of one complex graph whose receptor keeps only the residues with CA within
    `radius` (A) of `centre` (3,), and the stored receptor edges among them. The ligand is untouched."""
    from torch_geometric.utils import subgraph

    from disco_dock.docking.data.graph import RECEPTOR, RECEPTOR_RADIUS

    receptor = graph[RECEPTOR]
    keep = (receptor.pos - centre.to(receptor.pos)).norm(dim=1) <= radius
    if not keep.any():
        raise EmptyPocketError(
            f"no residue within {radius:g} A of the pocket centre "
            f"({', '.join(f'{value:.1f}' for value in centre.tolist())}); check the pocket or enlarge its radius"
        )
    cropped = graph.clone()
    for name in RESIDUE_FIELDS:
        cropped[RECEPTOR][name] = receptor[name][keep]
    cropped[RECEPTOR_RADIUS].edge_index, _ = subgraph(
        keep, graph[RECEPTOR_RADIUS].edge_index, relabel_nodes=True, num_nodes=receptor.num_nodes
    )
    return cropped
