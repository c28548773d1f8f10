"""Docking benchmarks: AutoDock Vina and disco-dock on PDBbind's time split and Astex Diverse.

`config.BenchmarkConfig` holds every setting; `harness.run_benchmark` runs the methods over a
dataset and writes per-complex JSON lines, a summary JSON and a markdown table; `metrics`
checks top poses with PoseBusters and summarises the records (the RMSDs come from
`docking.rmsd`, a complex's inputs from `docking.data.redocking`); `vina` runs Vina on one
complex; `speed` times predict, training and Vina, and `memory` bounds its peak memory;
`overfit` measures whether the score model learns (or what a trained one has learned); `tables`
puts the result tables into the documentation.
"""
