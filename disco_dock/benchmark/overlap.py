"""Protein overlap between complexes: which validation or test complexes share a protein with a
training set, so that a ranking can be measured on proteins the training never saw.

A complex's protein is the set of 8-residue stretches (`KMER`) of its chains' peptides
(Biopython's `PPBuilder`, peptides of `MIN_PEPTIDE` residues or more). Its overlap with a training
set is the fraction of its stretches found in any training protein; it counts as seen above
`SEEN_FRACTION`. An exact-stretch test: a distant homologue shares few stretches and counts as
unseen, so "unseen" is an upper bound on novelty, not a sequence-cluster split.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

from Bio.PDB import PDBParser, PPBuilder

KMER = 8
MIN_PEPTIDE = 30
SEEN_FRACTION = 0.5


def protein_stretches(path: str | Path) -> frozenset[str]:
    """The `KMER`-residue stretches of the peptides (>= `MIN_PEPTIDE` residues) of a PDB file's protein."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        structure = PDBParser(QUIET=True).get_structure("protein", str(path))
    peptides = [str(peptide.get_sequence()) for peptide in PPBuilder().build_peptides(structure)]
    return frozenset(p[i : i + KMER] for p in peptides if len(p) >= MIN_PEPTIDE for i in range(len(p) - KMER + 1))


def shared_fraction(stretches: frozenset[str], reference: set[str] | frozenset[str]) -> float:
    """The fraction of a protein's stretches found in `reference` (0 for a protein without peptides)."""
    return len(stretches & reference) / len(stretches) if stretches else 0.0


def reference_stretches(paths: Iterable[str | Path]) -> set[str]:
    """The stretches of every protein in `paths` (a training set's), in one set."""
    reference: set[str] = set()
    for path in paths:
        reference |= protein_stretches(path)
    return reference


def overlaps(proteins: dict[str, Path], reference: set[str], progress=lambda items, **_: items) -> dict[str, float]:
    """Each complex's `shared_fraction` with `reference`, from {complex: protein file}."""
    return {name: shared_fraction(protein_stretches(path), reference) for name, path in progress(proteins.items(), desc="proteins")}


def main(argv: list[str] | None = None) -> None:
    """`benchmarks/protein_overlap.py`: for each group of complexes (`--group NAME=IDS`), the overlap
    of each complex's protein with the training complexes' (`--train`), and the group's seen and
    unseen complexes as ID files (`OUT-NAME-seen.txt`, `OUT-NAME-unseen.txt`, for `rerank.py
    --subset`); prints the counts and writes `OUT.json`. Bad input: one line on stderr, exit status 2."""
    import argparse
    import json
    import sys

    from disco_dock.benchmark.cli import fail
    from disco_dock.benchmark.config import Subset
    from disco_dock.core.files import replacing
    from disco_dock.core.training import progress
    from disco_dock.docking.data.discover import discover_complexes, read_ids
    from disco_dock.docking.data.errors import DataError

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, action="append", required=True, help="a dataset folder holding the complexes (repeatable)")
    parser.add_argument("--train", type=Path, action="append", required=True, help="an ID file of the training complexes (repeatable)")
    parser.add_argument("--group", action="append", required=True, metavar="NAME=IDS_FILE", help="complexes to check, reported as one group (repeatable)")
    parser.add_argument("--out", type=Path, required=True, help="output path without suffix")
    args = parser.parse_args(argv)
    try:
        subsets = [Subset.parse(text) for text in args.group]
        if len({subset.name for subset in subsets}) < len(subsets):
            raise ValueError("--group: each group needs its own NAME")
        groups = {subset.name: read_ids(subset.ids) for subset in subsets}
        proteins = {source.name: source.protein for folder in args.data_dir for source in discover_complexes(folder)}
        train = [name for path in args.train for name in read_ids(path)]
        missing = [name for name in (*train, *(n for names in groups.values() for n in names)) if name not in proteins]
        if missing:
            raise ValueError(f"{len(missing)} complexes not in any --data-dir (first: {', '.join(missing[:3])})")
    except (DataError, ValueError) as error:
        fail(error)
    reference = reference_stretches(progress([proteins[name] for name in train], desc="training proteins"))
    fractions = {group: overlaps({name: proteins[name] for name in names}, reference, progress) for group, names in groups.items()}
    record = {"command": sys.argv, "kmer": KMER, "min_peptide": MIN_PEPTIDE, "seen_fraction": SEEN_FRACTION,
              "training_complexes": len(train), "overlap": fractions}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with replacing(args.out.with_suffix(".json")) as temporary:
        temporary.write_text(json.dumps(record, indent=2) + "\n")
    for group, by_name in fractions.items():
        seen = [name for name, fraction in by_name.items() if fraction > SEEN_FRACTION]
        unseen = [name for name, fraction in by_name.items() if fraction <= SEEN_FRACTION]
        for kind, names in (("seen", seen), ("unseen", unseen)):
            with replacing(args.out.parent / f"{args.out.name}-{group}-{kind}.txt") as temporary:
                temporary.write_text("".join(f"{name}\n" for name in names))
        print(f"{group}: {len(by_name)} complexes, {len(seen)} seen (over {SEEN_FRACTION:.0%} of {KMER}-residue stretches in training), {len(unseen)} unseen")
