"""Files written whole or not at all (`core.files.replacing`), and their fingerprints."""

import hashlib

import numpy as np
import pytest

from disco_dock.core.files import replacing, sha256_of


def test_replacing_writes_the_file_in_one_rename_and_leaves_nothing_else(tmp_path):
    path = tmp_path / "deeper" / "out.txt"
    with replacing(path) as temporary:
        assert temporary.parent == path.parent and not path.exists()
        temporary.write_text("new")
    assert path.read_text() == "new"
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.txt"]


def test_replaced_files_get_the_permissions_of_any_new_file(tmp_path):
    with replacing(tmp_path / "replaced.txt") as temporary:
        temporary.write_text("new")
    (tmp_path / "plain.txt").write_text("new")
    assert (tmp_path / "replaced.txt").stat().st_mode == (tmp_path / "plain.txt").stat().st_mode


def test_replacing_keeps_the_old_file_when_the_writer_fails(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError), replacing(path) as temporary:
        temporary.write_text("half")
        raise RuntimeError("crash")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_the_temporary_file_is_never_listed_by_a_glob_for_the_suffix(tmp_path):
    path = tmp_path / "arrays.npz"
    with replacing(path) as temporary, temporary.open("wb") as handle:
        assert list(tmp_path.glob("*.npz")) == []
        np.savez(handle, values=np.arange(3))
    assert np.load(path)["values"].tolist() == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arrays.npz"]


def test_sha256_of_matches_hashlib(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"disco" * 1000)
    assert sha256_of(path) == hashlib.sha256(b"disco" * 1000).hexdigest()
