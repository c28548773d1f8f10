"""PDB files as lines of text, cropped to whole residues before a slow reader sees them.

Open Babel and PoseBusters' checks take time in proportion to the protein, while Vina's maps and
PoseBusters' protein checks only look at atoms near a box or a pose; cropping the text first (a
residue is kept whole when any of its atoms is kept) spares reading and typing the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def is_atom(line: str) -> bool:
    """Whether a PDB line is an atom (ATOM or HETATM) record."""
    return line.startswith(("ATOM", "HETATM"))


def residue_of(line: str) -> str:
    """The residue of an atom line: name, chain, number and insertion code."""
    return line[17:27]


def atom_positions(lines: Sequence[str]) -> np.ndarray:
    """(N, 3) coordinates of the atom lines, in order; ValueError when one does not parse."""
    return np.array([[float(line[i : i + 8]) for i in (30, 38, 46)] for line in lines if is_atom(line)]).reshape(-1, 3)


def whole_residues(lines: Sequence[str], keep: np.ndarray) -> list[str]:
    """`lines` with only the atoms of residues one of whose atoms `keep` (one flag per atom line,
    in order) marks, the other lines as they are, and only the CONECT records between kept atoms."""
    atoms = [line for line in lines if is_atom(line)]
    kept_residues = {residue_of(line) for line, flag in zip(atoms, keep, strict=True) if flag}
    kept, serials = [], set()
    for line in lines:
        if is_atom(line):
            if residue_of(line) not in kept_residues:
                continue
            serials.add(line[6:11].strip())
        elif line.startswith("CONECT") and not set(line[6:].split()) <= serials:
            continue
        kept.append(line)
    return kept
