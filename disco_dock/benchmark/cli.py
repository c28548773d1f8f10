"""Command line shared by the `benchmarks/*.py` scripts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from disco_dock.benchmark.config import METHODS, VINA, BenchmarkConfig, Subset, Variant
from disco_dock.benchmark.harness import run_benchmark, select_complexes, write_summary
from disco_dock.benchmark.methods import method_specs
from disco_dock.docking.data.errors import DataError


def parse_config(argv: list[str] | None, description: str, default_out: Path) -> tuple[BenchmarkConfig, bool]:
    """A `BenchmarkConfig` from command-line arguments, and whether only the summary is wanted.
    ValueError on settings that do not fit together."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data-dir", type=Path, required=True, help="dataset folder (PDBbind or Astex layout)")
    parser.add_argument("--split", type=Path, help="file of complex IDs to run (default: every complex)")
    parser.add_argument("--no-rec-overlap", type=Path, help="file of IDs with unseen proteins: reported separately")
    parser.add_argument(
        "--subset", action="append", default=[], metavar="NAME=IDS_FILE", help="also report this group of complexes separately (repeatable)"
    )
    parser.add_argument(
        "--methods",
        help=f"comma-separated, from {','.join(METHODS)} (default: {VINA}, or none when --variant is given)",
    )
    parser.add_argument("--model", type=Path, help="model bundle of disco-dock-blind/-pocket (default: the packaged one per mode)")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=MODEL_FILE",
        help="also run this disco-dock bundle as method NAME, in the bundle's docking mode (repeatable)",
    )
    parser.add_argument("--samples", type=int, default=BenchmarkConfig.samples, help="disco-dock poses per complex (default %(default)s)")
    parser.add_argument("--steps", type=int, default=BenchmarkConfig.steps, help="disco-dock reverse-diffusion steps (default %(default)s)")
    parser.add_argument("--out", type=Path, default=default_out, help=f"output folder (default: {default_out})")
    parser.add_argument("--limit", type=int, help="run only the first K complexes")
    parser.add_argument("--seed", type=int, default=BenchmarkConfig.seed, help="seed of the starting conformers, Vina and disco-dock")
    parser.add_argument("--vina-cpu", type=int, default=1, help="CPUs for Vina's searches, the vina method's and disco-dock-pocket-vina's (default 1)")
    parser.add_argument("--vina-exhaustiveness", type=int, default=BenchmarkConfig.vina_exhaustiveness, help="Vina's search effort in the vina method (default %(default)s)")
    parser.add_argument(
        "--search-exhaustiveness", type=int, default=BenchmarkConfig.search_exhaustiveness, help="Vina's search effort inside disco-dock-pocket-vina (default %(default)s)"
    )
    parser.add_argument("--vina-poses", type=int, default=BenchmarkConfig.vina_poses, help="Vina poses per complex, also as disco-dock-pocket-vina candidates")
    parser.add_argument("--no-posebusters", action="store_true", help="skip PoseBusters checks of the top-1 poses")
    parser.add_argument("--device", default="cpu", help="torch device for disco-dock")
    parser.add_argument("--time-cap", type=float, help="CPU seconds per complex and method; over it the complex is a miss (default: none)")
    parser.add_argument("--summary-only", action="store_true", help="only rewrite the summary from the records so far")
    args = parser.parse_args(argv)
    methods = VINA if args.methods is None and not args.variant else args.methods or ""
    config = BenchmarkConfig(
        data_dir=args.data_dir,
        out_dir=args.out,
        split=args.split,
        no_rec_overlap=args.no_rec_overlap,
        subsets=tuple(Subset.parse(text) for text in args.subset),
        methods=tuple(name.strip() for name in methods.split(",") if name.strip()),
        model=args.model,
        variants=tuple(Variant.parse(text) for text in args.variant),
        samples=args.samples,
        steps=args.steps,
        limit=args.limit,
        seed=args.seed,
        vina_cpu=args.vina_cpu,
        vina_exhaustiveness=args.vina_exhaustiveness,
        search_exhaustiveness=args.search_exhaustiveness,
        vina_poses=args.vina_poses,
        posebusters=not args.no_posebusters,
        device=args.device,
        time_cap_s=args.time_cap,
    )
    return config, args.summary_only


def fail(error: Exception) -> None:
    """Print a one-line error and exit with status 2 (bad input)."""
    print(f"error: {error}", file=sys.stderr)
    sys.exit(2)


def main(argv: list[str] | None, description: str, default_out: Path) -> None:
    """Run the benchmark the arguments describe (or only summarise it); prints progress and the
    table. Bad input (settings, a model, data or results file): one line on stderr, exit status 2."""
    try:
        config, summary_only = parse_config(argv, description, default_out)
    except ValueError as error:
        fail(error)
    try:
        if summary_only:  # a variant whose model file is gone is summarised from its records alone
            specs = method_specs(config, skip_missing_variants=True)
            print(write_summary(config, select_complexes(config), list(config.method_names), specs)["markdown"])
        else:
            run_benchmark(config, specs=method_specs(config))
    except DataError as error:
        fail(error)
