"""Speed of disco-dock (predict per complex against samples, model loading, peak memory, training
throughput) and of Vina, on the four complexes shipped in posebusters; see benchmarks/README.md."""

from pathlib import Path

from disco_dock.benchmark.speed import main

if __name__ == "__main__":
    main(None, Path(__file__).parent / "results" / "speed")
