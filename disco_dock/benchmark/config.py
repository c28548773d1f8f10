"""Every setting of a benchmark run, in one typed place."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from disco_dock.docking.config import PhysicsConfig, SamplingConfig
from disco_dock.docking.pocket import BOX_PADDING

VINA, DISCO_BLIND, DISCO_POCKET = "vina", "disco-dock-blind", "disco-dock-pocket"
DISCO_POCKET_REFINED, DISCO_POCKET_VINA = "disco-dock-pocket-refined", "disco-dock-pocket-vina"
LEARNED_ONLY = PhysicsConfig(refine=False, vina_search=False, check_validity=False)
METHOD_PHYSICS = {
    DISCO_BLIND: LEARNED_ONLY,
    DISCO_POCKET: LEARNED_ONLY,
    DISCO_POCKET_REFINED: PhysicsConfig(refine=True, vina_search=False, rank_by="vina", vinardo=False, energy_check=True),
    DISCO_POCKET_VINA: PhysicsConfig(refine=True, vina_search=True, energy_check=True),
}
"""disco-dock's methods by name and their physics stage: the learned model alone (confidence
ranking); + Vina refinement and validity checks, ranked by Vina's score; + Vina's search poses
as candidates (the run's search exhaustiveness and number of Vina poses), ranked as `predict`
ranks by default (`PhysicsConfig.rank_by` "auto": with the pocket bundle shipped since
2026-12-08 its confidence model as a correction to Vina's score, the Vina + Vinardo consensus
from 2026-12-06, Vina's score before). Records keep every pose's Vina score (and Vinardo's, for
Vina's `vinardo_poses` best since 2026-12-07) and confidence (the confidence model's, or the pose
ranker's when the model had one), so the summary also gives
top-1 of the same pool ranked by Vina's score. The physics variants run PoseBusters' full "dock"
checks, internal energy included (`predict` leaves it out by default), as every record since
the checks came in did."""
PHYSICS_BEFORE = {"check_all": True, "vinardo_poses": None}
"""Physics settings added after the records began to carry the physics, that changed what the
methods do: their value for the records made before them (every pose checked; Vinardo on every
pose), so that a run is not resumed across the change (`harness._recorded_as`)."""
METHODS = (VINA, *METHOD_PHYSICS)
"""The methods the harness knows by name."""
VARIANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
"""What a variant's name may look like (it names its `.jsonl` file and its table row)."""


def name_and_path(text: str) -> tuple[str, Path] | None:
    """The name and the path (user-expanded) of a "NAME=PATH" option, or None when either is missing."""
    name, equals, path = (part.strip() for part in text.partition("="))
    return (name, Path(path).expanduser()) if equals and name and path else None


@dataclass(frozen=True)
class Variant:
    """A disco-dock model bundle benchmarked as a method of its own name, docking in the bundle's mode."""

    name: str
    model: Path

    @classmethod
    def parse(cls, text: str) -> "Variant":
        """A variant from "NAME=MODEL_FILE"; ValueError otherwise."""
        named = name_and_path(text)
        if named is None:
            raise ValueError(f"--variant {text!r}: expected NAME=MODEL_FILE")
        return cls(*named)


@dataclass(frozen=True)
class Subset:
    """A named group of complexes (a file of IDs) that the summary reports on its own."""

    name: str
    ids: Path

    @classmethod
    def parse(cls, text: str) -> Subset:
        """A subset from "NAME=IDS_FILE"; ValueError otherwise."""
        named = name_and_path(text)
        if named is None or not VARIANT_NAME.fullmatch(named[0]):
            raise ValueError(f"--subset {text!r}: expected NAME=IDS_FILE (NAME of letters, digits, '.', '_', '-')")
        return cls(*named)


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
    """File of IDs whose proteins are unseen in training; reported as a table of its own."""
    subsets: tuple[Subset, ...] = ()
    """More named groups of the selected complexes, each reported as a table of its own."""
    methods: tuple[str, ...] = (VINA,)
    """Methods by name, from `METHODS`."""
    model: Path | None = None
    """Bundle of disco-dock-blind and disco-dock-pocket; None = `bundle.default_model_path(mode)` for each mode."""
    variants: tuple[Variant, ...] = ()
    """More disco-dock methods, one per bundle, each named by the user (run after `methods`)."""
    samples: int = SamplingConfig.samples
    """disco-dock poses per complex."""
    steps: int = SamplingConfig.steps
    """disco-dock reverse-diffusion steps."""
    limit: int | None = None
    """Run only the first `limit` complexes (after the split)."""
    seed: int = SamplingConfig.seed
    """Seed of the PDBbind starting conformers, Vina and disco-dock's sampling."""
    box_padding: float = BOX_PADDING
    """Box edge = the crystal ligand's extent + this (A, per axis), where no `_box.json` is given."""
    vina_exhaustiveness: int = 8
    """Vina's search effort in the Vina method (Vina's own default)."""
    search_exhaustiveness: int = PhysicsConfig.vina_exhaustiveness
    """Vina's search effort inside disco-dock-pocket-vina (`predict`'s default)."""
    vina_poses: int = 10
    vina_cpu: int = 1
    posebusters: bool = True
    """Run PoseBusters' `dock` checks on every top-1 pose."""
    device: str = "cpu"
    """Torch device for disco-dock."""
    time_cap_s: float | None = None
    """Each method gets at most this many seconds per complex (run in a child process); over it, the
    complex is a miss for that method, recorded with the reason. None: no cap, run in this process."""

    def __post_init__(self):
        if self.time_cap_s is not None and self.time_cap_s <= 0:
            raise ValueError(f"time cap {self.time_cap_s:g} s: give a positive number of seconds")
        if self.time_cap_s is not None and self.device != "cpu":
            raise ValueError("a time cap runs each method in a forked process, which CUDA does not allow: use it with --device cpu")
        unknown = sorted(set(self.methods) - set(METHODS))
        if unknown:
            raise ValueError(f"unknown method(s) {', '.join(unknown)}: choose from {', '.join(METHODS)}")
        for variant in self.variants:
            if not VARIANT_NAME.fullmatch(variant.name):
                raise ValueError(f"variant name {variant.name!r}: use letters, digits, '.', '_' and '-' only")
            if variant.name in METHODS:
                raise ValueError(f"variant name {variant.name!r} is a built-in method's: choose another")
        subsets = [subset.name for subset in self.subsets]
        if len(set(subsets)) < len(subsets) or {"all", "no_rec_overlap"} & set(subsets):
            raise ValueError(f"subset names must differ from each other and from 'all' and 'no_rec_overlap': {', '.join(subsets)}")
        names = self.method_names
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"method name(s) given twice: {', '.join(repeated)}")

    @property
    def method_names(self) -> tuple[str, ...]:
        """Every method of the run: `methods`, then the variants' names."""
        return self.methods + tuple(variant.name for variant in self.variants)
