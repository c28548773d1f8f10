"""PDBbind's time-split test set with the benchmark harness; see benchmarks/README.md."""

from pathlib import Path

from disco_dock.benchmark.cli import main

if __name__ == "__main__":
    main(None, __doc__, Path(__file__).parent / "results" / "pdbbind_timesplit")
