"""Docking benchmarks: AutoDock Vina and disco-dock on PDBbind's time split and Astex Diverse.

`config.BenchmarkConfig` holds every setting; `harness.run_benchmark` runs the methods over a
dataset and writes per-complex JSON lines, a summary JSON and a markdown table; `metrics`
scores poses (symmetry-corrected RMSD, PoseBusters) and summarises them; `vina` runs Vina on
one complex; `inputs` loads a complex's crystal ligand, starting conformer and box; `speed`
times predict, training and Vina; `tables` puts the result tables into the documentation.
"""
