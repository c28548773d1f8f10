"""Errors and warnings of the docking data layer.

Every problem with a user's input is reported as a `DataError` that names the file (or the
SMILES string, or the folder) and gives a one-line reason, so that the command line can print
it as one line and a batch run can record it in `failures.csv` and go on.
"""

from __future__ import annotations

from pathlib import Path


class DataError(Exception):
    """Bad input: `str(error)` is "<source>: <reason>", one line."""

    def __init__(self, source: str | Path, reason: str) -> None:
        self.source = str(source)
        self.reason = " ".join(str(reason).split())  # one line, whatever RDKit or the OS said
        super().__init__(f"{self.source}: {self.reason}")


class DataWarning(UserWarning):
    """Input that was read, but with something left out (e.g. residues without a CA atom)."""
