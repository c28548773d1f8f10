"""Protein overlap: a protein's 8-residue stretches, their share in a training set, and the
command that splits validation or test complexes into seen and unseen proteins."""

from __future__ import annotations

import json

import pytest

from disco_dock.benchmark.overlap import KMER, main, protein_stretches, reference_stretches, shared_fraction
from tests.support.complexes import ligand_path, make_complex, protein_path


def test_a_protein_is_its_stretches_and_shares_all_of_them_with_itself_and_few_with_another():
    own = protein_stretches(protein_path("1ia1"))
    assert own and all(len(stretch) == KMER for stretch in own)
    assert shared_fraction(own, reference_stretches([protein_path("1ia1")])) == 1.0
    assert shared_fraction(own, reference_stretches([protein_path("1of6"), protein_path("1uou")])) < 0.05
    assert shared_fraction(frozenset(), own) == 0.0  # no peptide chain: nothing shared


def test_the_command_writes_each_groups_seen_and_unseen_complexes(tmp_path, capsys):
    data = tmp_path / "data"
    for name in ("1ia1", "1of6", "1uou"):
        make_complex(data, name, protein_path(name), ligand_path(name))
    (tmp_path / "train.txt").write_text("1ia1\n")
    (tmp_path / "test.txt").write_text("1ia1\n1of6\n")
    (tmp_path / "astex.txt").write_text("1uou\n")
    out = tmp_path / "out" / "overlap"
    main(["--data-dir", str(data), "--train", str(tmp_path / "train.txt"), "--group", f"test={tmp_path / 'test.txt'}",
          "--group", f"astex={tmp_path / 'astex.txt'}", "--out", str(out)])  # fmt: skip
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["training_complexes"] == 1 and record["overlap"]["test"]["1ia1"] == 1.0
    assert (tmp_path / "out" / "overlap-test-seen.txt").read_text() == "1ia1\n"
    assert (tmp_path / "out" / "overlap-test-unseen.txt").read_text() == "1of6\n"
    assert (tmp_path / "out" / "overlap-astex-unseen.txt").read_text() == "1uou\n"
    assert "test: 2 complexes, 1 seen" in capsys.readouterr().out


def test_a_complex_missing_from_the_data_is_one_line(tmp_path, capsys):
    make_complex(tmp_path / "data", "1ia1", protein_path("1ia1"), ligand_path("1ia1"))
    (tmp_path / "ids.txt").write_text("1ia1\n9xyz\n")
    with pytest.raises(SystemExit) as exit_:
        main(["--data-dir", str(tmp_path / "data"), "--train", str(tmp_path / "ids.txt"), "--group", f"test={tmp_path / 'ids.txt'}", "--out", str(tmp_path / "o")])
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and error.count("\n") == 1 and "9xyz" in error
