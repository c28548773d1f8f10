"""Docking a ligand into a protein with a trained `DockingModel` (what `disco-dock predict` runs).

For one complex: the protein is read, the ligand (a file or a SMILES string) gets a fresh RDKit
conformer (an input pose is never used as the start), the complex graph is built (the receptor
cropped around the pocket in pocket mode), `sampling.samples` copies are docked at once, ranked
by the confidence model when there is one, and written to the output folder as `rank1.sdf`,
`rank2.sdf`, ... with `results.csv` (rank, confidence, file, name). The same seed gives the same poses.

Pocket mode (a pocket model, or any pocket given): the pocket is a `Pocket` from a Vina box
file, a centre, or a reference ligand (`pocket_from_options`).
"""

from __future__ import annotations

import copy
import csv
import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from rdkit import Chem
from rdkit.Geometry import Point3D
from torch import Tensor
from torch_geometric.data import Batch, HeteroData

from disco_dock.core.training import progress
from disco_dock.docking.bundle import DockingModel
from disco_dock.docking.config import BLIND, POCKET, SamplingConfig
from disco_dock.docking.data.conformers import generate_conformers, rotatable_bonds
from disco_dock.docking.data.errors import DataError
from disco_dock.docking.data.graph import LIGAND, RECEPTOR, build_complex_graph
from disco_dock.docking.data.ligand import LIGAND_SUFFIXES, Ligand, featurize_ligand, load_ligand, read_ligand
from disco_dock.docking.data.protein import Receptor, read_protein
from disco_dock.docking.diffusion.poses import place_ligands
from disco_dock.docking.pocket import EmptyPocketError, crop_to_pocket
from disco_dock.docking.sampling import sample_poses

RESULTS_FILE = "results.csv"
FAILURES_FILE = "failures.csv"
RESULT_COLUMNS = ("rank", "confidence", "file", "name")
BOX_CENTRE_KEYS, BOX_SIZE_KEYS = ("center_x", "center_y", "center_z"), ("size_x", "size_y", "size_z")
NO_POCKET = "this model docks into a pocket: give --box, --pocket-center or --reference-ligand"


@dataclass(frozen=True)
class Pocket:
    """Where to dock: the pocket centre (A) and the radius of the receptor crop around it (A)."""

    centre: tuple[float, float, float]
    radius: float


@dataclass(frozen=True)
class DockedPose:
    """One written pose: its complex, rank (1 = best), confidence (NaN without a confidence model) and file."""

    name: str
    rank: int
    confidence: float
    path: Path


def read_box(path: str | Path, min_radius: float) -> Pocket:
    """The pocket of a Vina box JSON file (center_x/y/z, size_x/y/z): its centre, and a radius of
    half the box diagonal but at least `min_radius`."""
    path = Path(path)
    try:
        box = json.loads(path.read_text())
        centre = tuple(float(box[key]) for key in BOX_CENTRE_KEYS)
        half_diagonal = 0.5 * math.sqrt(sum(float(box[key]) ** 2 for key in BOX_SIZE_KEYS))
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except (OSError, ValueError, TypeError, KeyError) as error:
        keys = ", ".join(BOX_CENTRE_KEYS + BOX_SIZE_KEYS)
        raise DataError(path, f"not a box file: expected JSON with numbers {keys} ({type(error).__name__}: {error})") from None
    return Pocket(centre, max(min_radius, half_diagonal))


def parse_centre(text: str) -> tuple[float, float, float]:
    """A pocket centre from "x,y,z" (A)."""
    try:
        x, y, z = (float(part) for part in text.split(","))
    except ValueError:
        raise DataError(text, "a pocket centre is three numbers x,y,z") from None
    return x, y, z


def reference_centre(path: str | Path) -> tuple[float, float, float]:
    """The centroid of a reference ligand's heavy atoms (e.g. a crystal ligand's file)."""
    x, y, z = read_ligand(path).positions.mean(axis=0).tolist()
    return x, y, z


def pocket_from_options(
    box: str | Path | None = None,
    centre: str | None = None,
    radius: float | None = None,
    reference_ligand: str | Path | None = None,
    default_radius: float = 20.0,
) -> Pocket | None:
    """The pocket given by at most one of a box file, a centre "x,y,z" or a reference ligand
    (None when none is). `radius` (default `default_radius`, the model's) sets the crop radius;
    a box's radius is at least half its diagonal."""
    given = [option for option in (box, centre, reference_ligand) if option]
    if len(given) > 1:
        raise DataError(", ".join(map(str, given)), "give only one of a box, a pocket centre or a reference ligand")
    radius = default_radius if radius is None else radius
    if box:
        return read_box(box, radius)
    if centre:
        return Pocket(parse_centre(centre), radius)
    if reference_ligand:
        return Pocket(reference_centre(reference_ligand), radius)
    return None


def complex_graph(name: str, receptor: Receptor, ligand: Ligand, seed: int) -> HeteroData:
    """The graph of a receptor and a ligand in a fresh seeded RDKit conformer (no crystal pose)."""
    mol = ligand.mol
    conformer = generate_conformers(mol, num=1, seed=seed).pos[0]
    bonds, moving = rotatable_bonds(mol)
    return build_complex_graph(name, receptor, featurize_ligand(mol), conformer, None, bonds, moving)


@torch.no_grad()
def dock_graph(
    model: DockingModel, graph: HeteroData, sampling: SamplingConfig, centre: Tensor, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """Dock `sampling.samples` copies of one complex around `centre` (3,): positions (S, N, 3)
    and confidences (S,) (probabilities of RMSD < 2 A; NaN without a confidence model).

    Latents come from the prior at `sampling.prior_temperature`, shown the ligand's conformer
    at `centre` in a random orientation; None for a model without latents.
    """
    model.eval()
    batch = Batch.from_data_list([graph] * sampling.samples)
    latents = None
    if model.prior is not None:
        placed = copy.copy(batch)
        placed[LIGAND].pos = place_ligands(batch, centre, generator, random_torsions=False)
        latents = model.prior.sample(placed, sampling.prior_temperature, generator)
    pos = sample_poses(model.score, batch, model.config.pose_schedules, sampling, latents, centre, generator)
    if model.confidence is None:
        confidence = pos.new_full((sampling.samples,), math.nan)
    else:
        docked = copy.copy(batch)
        docked[LIGAND].pos = pos
        confidence = torch.sigmoid(model.confidence(docked))
    return pos.view(sampling.samples, graph[LIGAND].num_nodes, 3), confidence


def _write_sdf(mol: Chem.Mol, pos: np.ndarray, path: Path, properties: dict[str, object]) -> None:
    """Write heavy-atom `mol` at positions `pos` (N, 3) with SDF `properties`."""
    posed = Chem.Mol(mol)
    posed.RemoveAllConformers()
    conformer = Chem.Conformer(posed.GetNumAtoms())
    for index, (x, y, z) in enumerate(pos.tolist()):
        conformer.SetAtomPosition(index, Point3D(x, y, z))
    conformer.Set3D(True)
    posed.AddConformer(conformer)
    for key, value in properties.items():
        posed.SetProp(key, str(value))
    with Chem.SDWriter(str(path)) as writer:
        writer.write(posed)


def write_results(path: Path, poses: list[DockedPose]) -> None:
    """`results.csv` at `path`: one row per pose (rank, confidence, file relative to the CSV's folder, name)."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(RESULT_COLUMNS)
        for pose in poses:
            writer.writerow([pose.rank, f"{pose.confidence:.4f}", pose.path.relative_to(path.parent).as_posix(), pose.name])


def dock_complex(
    name: str,
    receptor: Receptor,
    protein: str | Path,
    ligand: str | Path,
    model: DockingModel,
    sampling: SamplingConfig,
    out_dir: str | Path,
    pocket: Pocket | None = None,
    device: str | torch.device = "cpu",
) -> list[DockedPose]:
    """`predict` for a receptor already read from `protein` (batch mode reads each protein once)."""
    mode = POCKET if pocket is not None or model.config.mode == POCKET else BLIND
    if pocket is None and mode == POCKET:
        raise ValueError(NO_POCKET)
    if pocket is not None and model.config.mode == BLIND:
        warnings.warn("this model was trained for blind docking; docking into the given pocket anyway", stacklevel=2)
    ligand_input = load_ligand(ligand)
    graph = complex_graph(name, receptor, ligand_input, sampling.seed)
    if pocket is not None:
        try:
            graph = crop_to_pocket(graph, torch.tensor(pocket.centre), pocket.radius)
        except EmptyPocketError as error:
            raise DataError(protein, str(error)) from None
    graph = graph.to(device)
    centre = graph[RECEPTOR].pos.mean(dim=0) if pocket is None else torch.tensor(pocket.centre, device=device)
    generator = torch.Generator(device=device).manual_seed(sampling.seed)
    pos, confidence = dock_graph(model, graph, sampling, centre.to(graph[LIGAND].pos.dtype), generator)
    order = range(len(pos)) if model.confidence is None else torch.argsort(confidence, descending=True, stable=True).tolist()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    poses = []
    for rank, sample in enumerate(order, start=1):
        pose = DockedPose(name, rank, float(confidence[sample]), out_dir / f"rank{rank}.sdf")
        properties = {"confidence": f"{pose.confidence:.4f}", "rank": rank, "mode": mode, "_Name": name}
        _write_sdf(ligand_input.mol, pos[sample].cpu().double().numpy(), pose.path, properties)
        poses.append(pose)
    write_results(out_dir / RESULTS_FILE, poses)
    return poses


def default_name(protein: str | Path, ligand: str | Path) -> str:
    """A complex's name from its inputs: the ligand file's stem, else (SMILES) the protein file's."""
    ligand_file = Path(str(ligand))
    return ligand_file.stem if ligand_file.suffix.lower() in LIGAND_SUFFIXES else Path(protein).stem


def predict(
    protein: str | Path,
    ligand: str | Path,
    model: DockingModel,
    sampling: SamplingConfig,
    out_dir: str | Path,
    pocket: Pocket | None = None,
    device: str | torch.device = "cpu",
) -> list[DockedPose]:
    """Dock `ligand` (a file or SMILES) into `protein` and write the ranked poses and
    `results.csv` to `out_dir`; the poses, best first. DataError on bad input; ValueError when a
    pocket model gets no `pocket`. A blind model given a pocket docks there, with a warning."""
    receptor = read_protein(protein)
    return dock_complex(default_name(protein, ligand), receptor, protein, ligand, model, sampling, out_dir, pocket, device)


@dataclass(frozen=True)
class BatchFailure:
    """A complex of a batch run that could not be docked (a row of `failures.csv`)."""

    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


def read_batch(path: str | Path) -> list[dict[str, str]]:
    """Rows of a batch CSV (columns protein, ligand, optional name, box, pocket_center,
    pocket_radius, reference_ligand), with file paths relative to the CSV's folder made absolute
    and every row named (default: `default_name`). DataError on a missing column or repeated names."""
    path = Path(path)
    try:
        with path.open(newline="") as handle:
            rows = [{key.strip(): (value or "").strip() for key, value in row.items() if key} for row in csv.DictReader(handle)]
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(path, f"cannot read the CSV ({error})") from None
    if not rows:
        raise DataError(path, "no complexes (expected a header with protein, ligand[, name] and one row per complex)")
    missing = [column for column in ("protein", "ligand") if column not in rows[0]]
    if missing:
        raise DataError(path, f"no {' or '.join(missing)} column (header: {', '.join(rows[0])})")
    for row in rows:
        for column in ("protein", "ligand", "box", "reference_ligand"):
            if row.get(column) and (column != "ligand" or Path(row[column]).suffix.lower() in LIGAND_SUFFIXES):
                row[column] = str(path.parent / row[column])
        row["name"] = row.get("name") or default_name(row["protein"], row["ligand"])
    names = [row["name"] for row in rows]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DataError(path, f"complex names repeated: {', '.join(repeated[:5])} (add a name column)")
    return rows


def predict_batch(
    csv_path: str | Path,
    model: DockingModel,
    sampling: SamplingConfig,
    out_dir: str | Path,
    device: str | torch.device = "cpu",
) -> tuple[list[DockedPose], list[BatchFailure]]:
    """Dock every row of a batch CSV (`read_batch`) into `out_dir/<name>/`, each protein read
    once; a progress bar on stderr. A complex that fails is recorded and the others go on.
    Writes `out_dir/results.csv` (every pose) and `out_dir/failures.csv` (name, reason)."""
    out_dir = Path(out_dir)
    rows = read_batch(csv_path)
    receptors: dict[str, Receptor | DataError] = {}
    poses: list[DockedPose] = []
    failures: list[BatchFailure] = []
    for row in progress(rows, desc="predict"):
        try:
            if row["protein"] not in receptors:
                try:
                    receptors[row["protein"]] = read_protein(row["protein"])
                except DataError as error:
                    receptors[row["protein"]] = error
            receptor = receptors[row["protein"]]
            if isinstance(receptor, DataError):
                raise receptor
            pocket = pocket_from_options(
                row.get("box"), row.get("pocket_center"), float(row["pocket_radius"]) if row.get("pocket_radius") else None,
                row.get("reference_ligand"), model.config.pocket.radius,
            )  # fmt: skip
            poses += dock_complex(row["name"], receptor, row["protein"], row["ligand"], model, sampling, out_dir / row["name"], pocket, device)
        except (DataError, ValueError) as error:
            failures.append(BatchFailure(row["name"], " ".join(str(error).split())))
    out_dir.mkdir(parents=True, exist_ok=True)
    write_results(out_dir / RESULTS_FILE, poses)
    with (out_dir / FAILURES_FILE).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "reason"])
        writer.writerows([failure.name, failure.reason] for failure in failures)
    return poses, failures
