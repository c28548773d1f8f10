"""Helpers shared by the test modules (imported, never collected): the posebusters complexes
(`complexes`), symmetry assertions (`equivariance`), tiny networks and model files (`models`) and
the exact denoiser of Gaussian data (`denoisers`). Fixtures stay in the conftest.py files."""
