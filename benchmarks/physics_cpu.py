"""What the physics stage adds to a 10-sample pocket prediction, in CPU seconds.

On posebusters' four complexes (pocket: the crystal ligand's box), with the shipped pocket model:
the process time of the prediction without any physics (inputs, 10 samples of 20 steps,
confidence, ranking), then what the default physics stage without Vina's search (Vina
refinement of every sample, Vinardo's scores, PoseBusters' checks in rank order until a pose
passes) adds to the same samples' ranking, and what two parts of it add on their own (Vina's
refinement; refinement and the checks). Process time is what the machine's load moves
least: `benchmarks/speed.py` reports wall seconds per stage, which a busy 2-core machine moves
by more than the stage costs.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/physics_cpu.py --out benchmarks/results/speed-physics/cpu.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from disco_dock.benchmark.harness import git_commit, machine_info
from disco_dock.benchmark.speed import posebusters_dir
from disco_dock.docking.bundle import DockingModel, default_model_path
from disco_dock.docking.config import PhysicsConfig, SamplingConfig
from disco_dock.docking.dock import finish, sample
from disco_dock.docking.pocket import pocket_from_options

COMPLEXES = ("1ia1", "1of6", "1s3v", "1uou")
NO_PHYSICS = PhysicsConfig(refine=False, vina_search=False, check_validity=False)
PHYSICS = PhysicsConfig(vina_search=False)
"""The default physics stage of a pocket prediction, without Vina's search."""
PARTS = {
    "refinement": PhysicsConfig(vina_search=False, vinardo=False, check_validity=False),
    "refinement + checks": PhysicsConfig(vina_search=False, vinardo=False),
}
"""Parts of `PHYSICS`, each measured on its own as well: Vina's refinement alone, and with PoseBusters' checks."""


def cpu_seconds(model: DockingModel, name: str, samples: int) -> dict:
    """Process seconds of the prediction without physics ("rest"), of what its physics stage adds
("physics_s") and of what each of `PARTS` adds on its own ("parts_s")."""
    folder = posebusters_dir() / name
    ligand, protein = folder / f"{name}_ligand.sdf", folder / f"{name}_protein_one_lig_removed.pdb"
    pocket = pocket_from_options(model.config.pocket.radius, reference_ligand=ligand)
    start = time.process_time()
    raw = sample(protein, ligand, model, pocket, SamplingConfig(samples=samples, steps=20, seed=0))
    sampled = time.process_time()
    finish(raw, model, NO_PHYSICS)
    plain = time.process_time()
    ranking = plain - sampled
    parts = {}
    for part, physics in {**PARTS, "default": PHYSICS}.items():
        before = time.process_time()
        finish(raw, model, physics)
        parts[part] = time.process_time() - before - ranking
    return {"complex": name, "rest_s": plain - start, "physics_s": parts.pop("default"), "parts_s": parts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--out", type=Path, help="JSON file for the results (default: print only)")
    args = parser.parse_args()
    model = DockingModel.load(default_model_path("pocket"))
    cpu_seconds(model, COMPLEXES[0], 1)  # warm-up: first calls load libraries and compile
    rows = []
    for name in COMPLEXES:
        rows.append(cpu_seconds(model, name, args.samples))
        print(f"{name}: rest {rows[-1]['rest_s']:.2f} s, physics {rows[-1]['physics_s']:.2f} s", flush=True)
    rest, physics = sum(row["rest_s"] for row in rows), sum(row["physics_s"] for row in rows)
    print(f"all four: rest {rest:.2f} s, physics {physics:.2f} s, physics / rest {100 * physics / rest:.1f} %")
    shares = {part: sum(row["parts_s"][part] for row in rows) / rest for part in PARTS}
    for part, share in shares.items():
        print(f"  {part} alone / rest {100 * share:.1f} %")
    if args.out:
        summary = {
            "git_commit": git_commit(), "machine": machine_info(), "samples": args.samples, "complexes": rows,
            "physics_over_rest": physics / rest, "parts_over_rest": shares,
        }  # fmt: skip
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
