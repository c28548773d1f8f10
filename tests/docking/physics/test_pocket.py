"""Vina on one pocket: scoring, refinement, search, poses outside the box and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import AllChem, rdMolAlign

from disco_dock.docking.physics import PhysicsError, VinaPocket, check_poses, receptor_pdbqt
from disco_dock.docking.physics.ligand import with_positions
from disco_dock.docking.physics.pocket import VINA, VINARDO, DockedPose, intact_poses
from disco_dock.docking.physics.refinement import rescored
from disco_dock.docking.pocket import Box
from tests.support.complexes import COMPLEXES, protein_path
from tests.support.poses import assert_one_line, assert_same_molecule, crystal, perturbed, pushed_into_protein


@pytest.mark.parametrize(("name", "seed"), [("1of6", 0), ("1s3v", 1), ("1ia1", 2)])
def test_refinement_lowers_the_score_and_keeps_the_molecule(pocket, name: str, seed: int) -> None:
    start = perturbed(crystal(name), seed)
    refined = pocket(name).refine(start)
    assert refined.unrefined_score == pytest.approx(pocket(name).score(start), abs=1e-3)
    assert refined.score < refined.unrefined_score
    assert refined.shift == pytest.approx(rdMolAlign.CalcRMS(refined.mol, start), abs=1e-6) and refined.shift > 0.05
    assert pocket(name).score(refined.mol) == pytest.approx(refined.score, abs=0.05)
    assert_same_molecule(crystal(name), refined.mol)


def test_refinement_resolves_a_clash(pocket) -> None:
    clashing = pushed_into_protein("1ia1", 2.0)
    refined = pocket("1ia1").refine(clashing)
    assert refined.unrefined_score > 0 > refined.score
    before, after = check_poses([clashing, refined.mol], protein_path("1ia1"))
    assert "minimum_distance_to_protein" in before.failed
    assert after.passed, after.failed


def test_vinardo_scores_poses_with_its_own_function_in_the_same_boxes(pocket) -> None:
    ligand, receptor = crystal("1ia1"), pocket("1ia1").receptor
    vinardo = VinaPocket(receptor, pocket("1ia1").box, ligand=ligand, scoring=VINARDO)
    assert vinardo.score(ligand) < 0 and vinardo.score(ligand) != pytest.approx(pocket("1ia1").score(ligand), abs=0.1)
    poses = [ligand, perturbed(ligand, 0)]
    assert rescored(protein_path("1ia1"), poses, VINA) == pytest.approx([pocket("1ia1").score(pose) for pose in poses], abs=1e-3)
    assert rescored(protein_path("1ia1"), poses, VINARDO) == pytest.approx([vinardo.score(pose) for pose in poses], abs=1e-3)
    with pytest.raises(ValueError, match="unknown scoring function 'ad5'"):
        VinaPocket(receptor, pocket("1ia1").box, scoring="ad5")


def test_pose_outside_the_box(pocket) -> None:
    ligand = crystal("1ia1")
    outside = with_positions(ligand, ligand.GetConformer().GetPositions() + [20.0, 0.0, 0.0])
    assert pocket("1ia1").contains(ligand) and not pocket("1ia1").contains(outside)
    for method in (pocket("1ia1").score, pocket("1ia1").refine):
        with pytest.raises(PhysicsError) as error:
            method(outside)
        assert_one_line(error, "leaves the Vina box")


def test_blind_box_holds_the_poses() -> None:
    ligand = crystal("1of6")
    pocket = VinaPocket.around(protein_path("1of6"), [ligand], padding=4.0)
    assert pocket.contains(ligand)
    assert pocket.refine(ligand).score < 0


@pytest.mark.parametrize(
    ("mol", "words"),
    [
        (Chem.MolFromSmiles("c1ccccc1O"), ("no conformer",)),
        (
            with_positions(crystal("1ia1"), np.full((19, 3), np.nan)),
            ("not all finite",),
        ),
    ],
    ids=["no-conformer", "nan"],
)
def test_bad_molecules_give_one_line(pocket, mol: Chem.Mol, words: tuple[str, ...]) -> None:
    for method in (pocket("1ia1").score, pocket("1ia1").refine, pocket("1ia1").search):
        with pytest.raises(PhysicsError) as error:
            method(mol)
        assert_one_line(error, *words)


def test_missing_protein_file(tmp_path) -> None:
    with pytest.raises(PhysicsError) as error:
        VinaPocket.prepare(tmp_path / "absent.pdb", Box((0.0, 0.0, 0.0), (10.0, 10.0, 10.0)))
    assert_one_line(error, "absent.pdb")


def test_search_finds_the_crystal_pose(pocket) -> None:
    ligand = Chem.AddHs(crystal("1ia1"))
    AllChem.EmbedMolecule(ligand, randomSeed=1)  # start from a fresh conformer, not the crystal pose
    poses = pocket("1ia1").search(ligand, exhaustiveness=4, num_poses=9, seed=7)
    scores = [pose.score for pose in poses]
    assert 1 < len(poses) <= 9 and scores == sorted(scores)
    assert min(rdMolAlign.CalcRMS(pose.mol, crystal("1ia1")) for pose in poses) < 2.0
    assert_same_molecule(crystal("1ia1"), poses[0].mol)


def test_a_search_on_two_threads_finds_the_poses_of_one(pocket) -> None:
    one = pocket("1ia1")
    two = VinaPocket(one.receptor, one.box, cpu=2, seed=one.seed)
    ligand = Chem.AddHs(crystal("1ia1"))
    AllChem.EmbedMolecule(ligand, randomSeed=1)
    assert [p.score for p in two.search(ligand, exhaustiveness=2, num_poses=3)] == [p.score for p in one.search(ligand, exhaustiveness=2, num_poses=3)]


def test_maps_for_the_ligands_atom_types_give_the_same_scores(pocket) -> None:
    everything = pocket("1ia1")  # maps for every atom type
    ligand_only = VinaPocket(everything.receptor, everything.box, ligand=crystal("1ia1"))
    start = perturbed(crystal("1ia1"), seed=3)
    assert ligand_only.score(start) == pytest.approx(everything.score(start), abs=1e-6)
    assert ligand_only.refine(start).score == pytest.approx(everything.refine(start).score, abs=1e-6)


def test_poses_refined_in_turn_each_refine_as_on_a_fresh_pocket(pocket) -> None:
    first, second = perturbed(crystal("1ia1"), seed=6), perturbed(crystal("1ia1"), seed=7)
    reused = VinaPocket(pocket("1ia1").receptor, pocket("1ia1").box, ligand=first)  # Vina holds `first` already
    in_turn = [reused.refine(first), reused.refine(second), reused.refine(first), reused.score(second)]
    fresh = [VinaPocket(reused.receptor, reused.box, ligand=crystal("1ia1")).refine(mol) for mol in (first, second)]
    assert [pose.score for pose in in_turn[:3]] == pytest.approx([fresh[0].score, fresh[1].score, fresh[0].score], abs=1e-6)
    assert in_turn[3] == pytest.approx(fresh[1].unrefined_score, abs=1e-6)


def test_a_pocket_moved_to_another_box_scores_as_one_made_there(pocket) -> None:
    here = pocket("1ia1")
    whole = receptor_pdbqt(protein_path("1ia1"))
    box = Box(here.box.center, tuple(size + 2.0 for size in here.box.size))
    moved = VinaPocket(whole, Box(tuple(c + 30.0 for c in here.box.center), here.box.size), ligand=crystal("1ia1"))
    moved.move_to(box)
    made = VinaPocket(whole, box, ligand=crystal("1ia1"))
    start = perturbed(crystal("1ia1"), seed=4)
    assert moved.box == box and moved.refine(start).score == pytest.approx(made.refine(start).score, abs=1e-6)


@pytest.mark.parametrize("name", COMPLEXES)
def test_a_receptor_cropped_to_the_box_scores_as_the_whole_protein(pocket, name: str) -> None:
    cropped = pocket(name)  # prepared for its box: the residues within Vina's reach of it
    whole = VinaPocket(receptor_pdbqt(protein_path(name)), cropped.box, ligand=crystal(name))
    assert cropped.receptor.text.count("\nATOM") < whole.receptor.text.count("\nATOM")
    start = perturbed(crystal(name), seed=5)
    assert cropped.score(start) == pytest.approx(whole.score(start), abs=1e-6)
    assert cropped.refine(start).score == pytest.approx(whole.refine(start).score, abs=1e-6)


def test_a_receptor_cropped_for_a_box_far_from_the_protein_scores_as_the_whole_protein(pocket) -> None:
    near = pocket("1ia1")
    far = Box(tuple(c + 40.0 for c in near.box.center), near.box.size)
    away = with_positions(crystal("1ia1"), crystal("1ia1").GetConformer().GetPositions() + 40.0)
    cropped = VinaPocket.prepare(protein_path("1ia1"), far, ligand=crystal("1ia1"))
    whole = VinaPocket(receptor_pdbqt(protein_path("1ia1")), far, ligand=crystal("1ia1"))
    assert 0 < cropped.receptor.text.count("\nATOM") < 100
    assert cropped.score(away) == pytest.approx(whole.score(away), abs=1e-6)


def test_a_cropped_receptor_refuses_a_box_it_does_not_reach(pocket) -> None:
    here = pocket("1ia1")
    with pytest.raises(PhysicsError) as error:
        here.move_to(Box(tuple(c + 30.0 for c in here.box.center), here.box.size))
    assert_one_line(error, "cropped for other boxes")


def test_search_poses_with_a_broken_bond_are_left_out_with_a_warning() -> None:
    start = Chem.AddHs(crystal("1ia1"), addCoords=True)
    whole = crystal("1ia1")
    positions = whole.GetConformer().GetPositions()
    positions[0] += (0.0, 0.0, 2.0)  # the first atom pulled 2 A off its neighbours: an open ring
    poses = [DockedPose(whole, -9.0), DockedPose(with_positions(whole, positions), -8.0), DockedPose(whole, -7.0)]
    with pytest.warns(UserWarning, match="1 of 3 poses"):
        kept = intact_poses(poses, start)
    assert [pose.score for pose in kept] == [-9.0, -7.0]
