"""Overfit benchmark: train the score model on a few complexes (default posebusters' four) for a
fixed budget, then its loss / predict-nothing ratios by diffusion time and self-docking RMSDs;
see disco_dock/benchmark/overfit.py and benchmarks/results/overfit/README.md."""

from pathlib import Path

from disco_dock.benchmark.overfit import main

if __name__ == "__main__":
    main(None, Path(__file__).parent / "results" / "overfit")
