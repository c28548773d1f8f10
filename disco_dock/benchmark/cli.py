"""Command line shared by the `benchmarks/*.py` scripts."""

from __future__ import annotations

import argparse
from pathlib import Path

from disco_dock.benchmark.config import METHODS, VINA, BenchmarkConfig
from disco_dock.benchmark.harness import run_benchmark, select_complexes, write_summary


def parse_config(argv: list[str] | None, description: str, default_out: Path) -> tuple[BenchmarkConfig, bool]:
    """A `BenchmarkConfig` from command-line arguments, and whether only the summary is wanted."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data-dir", type=Path, required=True, help="dataset folder (PDBbind or Astex layout)")
    parser.add_argument("--split", type=Path, help="file of complex IDs to run (default: every complex)")
    parser.add_argument("--no-rec-overlap", type=Path, help="file of IDs with unseen proteins: reported separately")
    parser.add_argument("--methods", default=VINA, help=f"comma-separated, from {','.join(METHODS)} (default: {VINA})")
    parser.add_argument("--model", type=Path, help="disco-dock model bundle (default: the packaged one per mode)")
    parser.add_argument("--samples", type=int, default=10, help="disco-dock poses per complex")
    parser.add_argument("--steps", type=int, default=20, help="disco-dock reverse-diffusion steps")
    parser.add_argument("--out", type=Path, default=default_out, help=f"output folder (default: {default_out})")
    parser.add_argument("--limit", type=int, help="run only the first K complexes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vina-cpu", type=int, default=1, help="CPUs for Vina (default 1)")
    parser.add_argument("--vina-exhaustiveness", type=int, default=8)
    parser.add_argument("--no-posebusters", action="store_true", help="skip PoseBusters checks of the top-1 poses")
    parser.add_argument("--device", default="cpu", help="torch device for disco-dock")
    parser.add_argument("--summary-only", action="store_true", help="only rewrite the summary from the records so far")
    args = parser.parse_args(argv)
    config = BenchmarkConfig(
        data_dir=args.data_dir,
        out_dir=args.out,
        split=args.split,
        no_rec_overlap=args.no_rec_overlap,
        methods=tuple(name.strip() for name in args.methods.split(",") if name.strip()),
        model=args.model,
        samples=args.samples,
        steps=args.steps,
        limit=args.limit,
        seed=args.seed,
        vina_cpu=args.vina_cpu,
        vina_exhaustiveness=args.vina_exhaustiveness,
        posebusters=not args.no_posebusters,
        device=args.device,
    )
    return config, args.summary_only


def main(argv: list[str] | None, description: str, default_out: Path) -> None:
    """Run the benchmark the arguments describe (or only summarise it); prints progress and the table."""
    config, summary_only = parse_config(argv, description, default_out)
    if summary_only:
        print(write_summary(config, select_complexes(config), list(config.methods))["markdown"])
    else:
        run_benchmark(config)
