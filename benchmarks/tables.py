"""Rewrite the result tables in README.md, benchmarks/README.md and models/*.md from
benchmarks/results/*/summary.json (`--check`: exit 1 if any is stale); see benchmarks/README.md."""

from pathlib import Path

from disco_dock.benchmark.tables import main

if __name__ == "__main__":
    main(None, Path(__file__).resolve().parent.parent)
