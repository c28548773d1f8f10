"""PoseBusters' dock checks per pose."""

from __future__ import annotations

import pytest

from disco_dock.docking.physics import PhysicsError, check_poses
from disco_dock.docking.physics.ligand import with_positions
from tests.support.complexes import protein_path
from tests.support.poses import assert_one_line, crystal, pushed_into_protein


def test_crystal_passes_and_clash_fails() -> None:
    good, bad = check_poses([crystal("1ia1"), pushed_into_protein("1ia1", 2.0)], protein_path("1ia1"))
    assert good.passed and good.failed == ()
    assert not bad.passed and "minimum_distance_to_protein" in bad.failed


def test_missing_protein_file(tmp_path) -> None:
    with pytest.raises(PhysicsError) as error:
        check_poses([crystal("1ia1")], tmp_path / "absent.pdb")
    assert_one_line(error, "absent.pdb", "not found")


def test_cropping_the_protein_keeps_the_verdicts(pocket) -> None:
    poses = [
        crystal("1ia1"),
        pushed_into_protein("1ia1", 1.0),
        pushed_into_protein("1ia1", 2.0),
    ]
    poses += [pose.mol for pose in pocket("1ia1").search(poses[0], exhaustiveness=1, num_poses=5)]
    poses.append(with_positions(crystal("1ia1"), crystal("1ia1").GetConformer().GetPositions() + 40.0))  # far from the protein
    cropped = check_poses(poses, protein_path("1ia1"))
    assert cropped == check_poses(poses, protein_path("1ia1"), crop_radius=None)
    assert not cropped[-1].passed and cropped[-1].failed == ("protein-ligand_maximum_distance",)


def test_without_the_energy_check_the_other_verdicts_stay() -> None:
    squeezed = crystal("1ia1")
    squeezed = with_positions(squeezed, 0.6 * squeezed.GetConformer().GetPositions())  # every bond too short, high energy
    poses = [crystal("1ia1"), pushed_into_protein("1ia1", 2.0), squeezed]
    full, fast = check_poses(poses, protein_path("1ia1")), check_poses(poses, protein_path("1ia1"), energy=False)
    assert "internal_energy" in full[2].failed
    assert [tuple(name for name in check.failed if name != "internal_energy") for check in full] == [check.failed for check in fast]
