"""Fixtures shared with the docking tests: tiny random blind and pocket model bundles (`model_files`)."""

from tests.docking.test_predict import model_files  # noqa: F401  (a fixture, used by name)
