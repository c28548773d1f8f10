"""Which complexes of a validation or test set share a protein with the training set; see benchmarks/README.md."""

from disco_dock.benchmark.overlap import main

if __name__ == "__main__":
    main()
