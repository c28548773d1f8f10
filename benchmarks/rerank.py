"""Rank a benchmark run's recorded candidate pools again with pose rankers; see benchmarks/README.md."""

from disco_dock.benchmark.rerank import main

if __name__ == "__main__":
    main()
