"""The physics stage inside `dock`: refinement, Vina's search, validity checks, ranking and what
the writer makes of them, on the posebusters 1ia1 complex with a tiny random model."""

from __future__ import annotations

import csv
import dataclasses
import math

import numpy as np
import pytest
import torch
from rdkit import Chem
from torch_geometric.utils import scatter

from disco_dock.docking.bundle import DockingModel, build_ranker
from disco_dock.docking import candidates
from disco_dock.docking.candidates import consensus_score, learned_score, ranked, ranking_key, validity_checked
from disco_dock.docking.config import NO_SEARCH_BOX, POCKET, PhysicsConfig, SamplingConfig
from disco_dock.docking.data.graph import LIGAND
from disco_dock.docking.dock import dock
from disco_dock.docking.physics import PoseCheck
from disco_dock.docking.pocket import pocket_from_options
from disco_dock.docking.results import DIFFUSION, VINA, DockedPose
from disco_dock.docking.writer import RESULT_COLUMNS, write_result
from tests.support.complexes import ligand_path, protein_path

NAME = "1ia1"
SAMPLING = SamplingConfig(samples=3, steps=3)
NO_PHYSICS = PhysicsConfig(refine=False, vina_search=False, check_validity=False)


@pytest.fixture(scope="module")
def pocket_model(model_files) -> DockingModel:
    return DockingModel.load(model_files[POCKET])


def docked(model: DockingModel, physics: PhysicsConfig):
    pocket = pocket_from_options(model.config.pocket.radius, reference_ligand=ligand_path(NAME))
    return dock(protein_path(NAME), ligand_path(NAME), model, pocket, SAMPLING, physics=physics)


def pose(sample: int, confidence: float = math.nan, vina: float = math.nan, valid: bool | None = None, vinardo: float = math.nan) -> DockedPose:
    return DockedPose(Chem.MolFromSmiles("C"), 0, confidence, sample, vina_score=vina, vinardo_score=vinardo, valid=valid)


def test_ranking_puts_invalid_poses_last_then_orders_by_the_chosen_score():
    pool = [pose(0, 0.2, -5.0, True), pose(1, 0.9, -7.0, False), pose(2, 0.5, -6.0, True), pose(3, 0.5, math.nan, True)]
    assert [p.sample for p in ranked(pool, "confidence", invalid_last=True)] == [2, 3, 0, 1]
    assert [p.sample for p in ranked(pool, "confidence", invalid_last=False)] == [1, 2, 3, 0]
    assert [p.sample for p in ranked(pool, "vina", invalid_last=True)] == [2, 0, 3, 1]
    assert [p.rank for p in ranked(pool, "sample", invalid_last=False)] == [1, 2, 3, 4]


def test_consensus_ranking_weighs_vinardo_against_vina():
    pool = [pose(0, vina=-8.0, vinardo=-4.0), pose(1, vina=-7.0, vinardo=-5.0), pose(2, vina=-9.0, vinardo=math.nan)]
    assert consensus_score(-8.0, -4.0, 1.5) == -14.0
    assert [p.sample for p in ranked(pool, "consensus", invalid_last=True, consensus_weight=1.5)] == [1, 0, 2]
    assert [p.sample for p in ranked(pool, "consensus", invalid_last=True, consensus_weight=0.5)] == [0, 1, 2]
    unrescored = [*pool, pose(3, vina=-9.5), pose(4, vina=-10.0), pose(5), pose(6, vina=3.0)]  # after, by Vina's score; none last
    assert [p.sample for p in ranked(unrescored, "consensus", invalid_last=True, consensus_weight=1.5)] == [1, 0, 4, 3, 2, 6, 5]


def test_auto_ranking_uses_a_learned_correction_then_the_consensus_then_vina_scores_when_there_are_any():
    scored, unscored = [pose(0, vina=-5.0)], [pose(0)]
    both = [pose(0, vina=-5.0, vinardo=-4.0), pose(1, vina=-5.0)]
    assert ranking_key(PhysicsConfig(), True, both, vina_weight=1.0) == "learned"
    assert ranking_key(PhysicsConfig(), False, both, vina_weight=1.0) == "consensus"  # no confidence model
    assert ranking_key(PhysicsConfig(), True, [*both, pose(2)], vina_weight=1.0) == "vina"  # a pose without Vina's score
    assert ranking_key(PhysicsConfig(rank_by="consensus"), True, both, vina_weight=1.0) == "consensus"
    assert ranking_key(PhysicsConfig(), True, [pose(0, vina=-5.0, vinardo=-4.0)]) == "consensus"
    assert ranking_key(PhysicsConfig(), True, [pose(0, vina=-5.0, vinardo=-4.0), pose(1, vina=-5.0)]) == "consensus"
    assert ranking_key(PhysicsConfig(), True, [pose(0, vina=-5.0, vinardo=-4.0), pose(1)]) == "vina"
    assert ranking_key(PhysicsConfig(), True, scored) == "vina"
    assert ranking_key(PhysicsConfig(), True, unscored) == "confidence"
    assert ranking_key(PhysicsConfig(), False, unscored) == "sample"
    assert ranking_key(PhysicsConfig(rank_by="confidence"), True, scored) == "confidence"


def test_the_learned_ranking_is_the_logit_minus_the_weighted_vina_score():
    assert learned_score(0.5, -6.0, 0.5) == pytest.approx(3.0)
    assert learned_score(1 / (1 + math.exp(-2.0)), -4.0, 1.0) == pytest.approx(6.0)
    assert math.isnan(learned_score(0.5, math.nan, 1.0)) and learned_score(1.0, -5.0, 1.0) == math.inf
    assert math.isnan(learned_score(math.nan, -5.0, 1.0))  # no confidence model: ranked after the others
    pool = [pose(0, 0.5, vina=-6.0), pose(1, 0.9, vina=-3.0), pose(2, 0.5, vina=-7.0)]  # logits 0, 2.2, 0
    assert [p.sample for p in ranked(pool, "learned", invalid_last=True, vina_weight=1.0)] == [2, 0, 1]
    assert [p.sample for p in ranked(pool, "learned", invalid_last=True, vina_weight=0.1)] == [1, 2, 0]


def test_refinement_lowers_every_vina_score_and_keeps_the_molecule(pocket_model):
    plain = docked(pocket_model, NO_PHYSICS.replace(vina_search=False, rank_by="sample"))
    scored = docked(pocket_model, PhysicsConfig(refine=False, vina_search=True, vina_exhaustiveness=1, vina_poses=1, check_validity=False))
    refined = docked(pocket_model, PhysicsConfig(check_validity=False, rank_by="sample", vina_search=False))
    before = {p.sample: p.vina_score for p in scored.poses if p.source == DIFFUSION}
    for p in refined.poses:
        assert p.source == DIFFUSION and p.vina_score <= before[p.sample] + 1e-3 and p.refinement_shift >= 0
        assert Chem.MolToSmiles(p.mol) == Chem.MolToSmiles(plain.poses[0].mol)
    assert {p.source for p in scored.poses} == {DIFFUSION, VINA}


def test_vina_candidates_join_the_pool_and_every_pose_is_checked(pocket_model):
    result = docked(pocket_model, PhysicsConfig(vina_search=True, vina_exhaustiveness=2, vina_poses=4, check_all=True))
    sources = [p.source for p in result.poses]
    assert sources.count(DIFFUSION) == SAMPLING.samples and 1 <= sources.count(VINA) <= 4
    assert all(p.valid is not None for p in result.poses)
    valid = [p.valid for p in result.poses]
    assert valid == sorted(valid, reverse=True)  # invalid poses last
    assert all(math.isfinite(p.vinardo_score) and p.vinardo_score != p.vina_score for p in result.poses)
    consensus = [consensus_score(p.vina_score, p.vinardo_score, PhysicsConfig.consensus_weight) for p in result.poses if p.valid]
    assert consensus == sorted(consensus)
    unrescored = docked(pocket_model, PhysicsConfig(vina_search=True, vina_exhaustiveness=2, vina_poses=4, vinardo=False, check_validity=False))
    assert all(math.isnan(p.vinardo_score) for p in unrescored.poses)
    assert [p.vina_score for p in unrescored.poses] == sorted(p.vina_score for p in unrescored.poses)
    two = docked(pocket_model, PhysicsConfig(vina_search=True, vina_exhaustiveness=2, vina_poses=4, vinardo_poses=2, check_validity=False))
    rescored_scores = sorted(p.vina_score for p in two.poses if math.isfinite(p.vinardo_score))
    assert len(rescored_scores) == 2 and rescored_scores == sorted(p.vina_score for p in two.poses)[:2]


def test_vina_search_needs_a_pocket(model_files):
    blind = DockingModel.load(model_files["blind"])
    with pytest.raises(ValueError, match=NO_SEARCH_BOX):
        dock(protein_path(NAME), ligand_path(NAME), blind, None, SAMPLING, physics=PhysicsConfig(vina_search=True))


def test_written_poses_read_back_with_their_scores_and_optional_hydrogens(pocket_model, tmp_path):
    result = docked(pocket_model, PhysicsConfig(vina_search=True, vina_exhaustiveness=1, vina_poses=2))
    for hydrogens in (False, True):
        out = tmp_path / str(hydrogens)
        files = write_result(result, out, hydrogens=hydrogens)
        for file, p in zip(files, result.poses):
            mol = next(Chem.SDMolSupplier(str(file), removeHs=False))
            assert mol is not None and np.isfinite(mol.GetConformer().GetPositions()).all()
            has_hydrogens = any(atom.GetAtomicNum() == 1 for atom in mol.GetAtoms())
            assert has_hydrogens == hydrogens
            heavy = Chem.RemoveHs(mol)
            np.testing.assert_allclose(heavy.GetConformer().GetPositions(), p.positions, atol=1e-4)
            assert (mol.GetProp("source"), mol.GetProp("posebusters_valid")) == (p.source, "" if p.valid is None else str(p.valid).lower())
            assert float(mol.GetProp("vina_score")) == pytest.approx(p.vina_score, abs=1e-3)
            assert float(mol.GetProp("vinardo_score")) == pytest.approx(p.vinardo_score, abs=1e-3)
        with (out / "results.csv").open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert tuple(rows[0]) == RESULT_COLUMNS and len(rows) == len(result.poses)


def test_flagged_poses_rank_after_every_other_pose_even_the_invalid_ones():
    pool = [dataclasses.replace(pose(0, vina=-9.0, valid=True), flag="outside the box"), pose(1, vina=-5.0, valid=False), pose(2, vina=-6.0, valid=True)]
    assert [p.sample for p in ranked(pool, "vina", invalid_last=True)] == [2, 1, 0]


def test_poses_are_checked_in_rank_order_until_one_passes_and_the_top_pose_is_what_checking_all_gives(monkeypatch):
    passes = {0: False, 1: False, 2: False, 3: True, 4: False, 5: True, 6: False, 7: True}
    calls = []

    def fake_checks(mols, protein, energy):
        calls.append(len(mols))
        return [PoseCheck(passes[int(mol.GetProp("sample"))], () if passes[int(mol.GetProp("sample"))] else ("clash",)) for mol in mols]

    def labelled(sample: int) -> DockedPose:
        mol = Chem.MolFromSmiles("C")
        mol.SetProp("sample", str(sample))
        return DockedPose(mol, 0, math.nan, sample)

    monkeypatch.setattr(candidates, "check_poses", fake_checks)
    pool = ranked([labelled(sample) for sample in range(8)], "sample", invalid_last=True)
    lazy = validity_checked(pool, "protein.pdb", PhysicsConfig())
    assert calls == [1, 2, 4]  # poses 0 / 1-2 / 3-6: pose 3 passes
    assert [p.sample for p in lazy] == [3, 5, 7, 0, 1, 2, 4, 6] and [p.rank for p in lazy] == list(range(1, 9))
    assert lazy[2].valid is None and lazy[3].failed_checks == ("clash",)  # pose 7: never checked
    every = validity_checked(pool, "protein.pdb", PhysicsConfig(check_all=True))
    assert calls[3:] == [8] and every[0].sample == lazy[0].sample and all(p.valid is not None for p in every)
    calls.clear()
    flagged = ranked([labelled(0), labelled(1), dataclasses.replace(labelled(3), flag="outside the box")], "sample", invalid_last=True)
    assert [p.sample for p in validity_checked(flagged, "protein.pdb", PhysicsConfig())] == [0, 1, 3] and calls == [1, 1]  # not the flagged pose
    calls.clear()
    assert validity_checked(pool, "protein.pdb", PhysicsConfig(invalid_last=False))[0].sample == 0 and calls == [1]  # nothing moves: the top pose only


def test_dock_ranks_by_a_confidence_that_corrects_vina_even_with_a_pose_ranker(model_files):
    """A confidence model trained with `confidence_vina_weight` w: every pose's confidence is its
    probability, sigmoid(logit), and the default ranking ("auto", as `predict`'s) orders the pool by
    logit - w x Vina's score, here not the order of Vina's score; the bundle's pose ranker does
    not replace it."""
    model = DockingModel.load(model_files[POCKET])
    model.ranker, model.confidence = build_ranker(model.config), CentroidHeight()
    model.config = model.config.replace(training={"confidence_pool_loss": 1.0, "confidence_vina_weight": 0.5})
    result = docked(model, PhysicsConfig(vina_exhaustiveness=1, vina_poses=4, check_validity=False))
    for pose in result.poses:
        assert pose.confidence == pytest.approx(1 / (1 + math.exp(-pose.mol.GetConformer().GetPositions().mean(axis=0)[2])), rel=1e-6)
    unflagged = [pose for pose in result.poses if not pose.flag]
    learned = [learned_score(pose.confidence, pose.vina_score, 0.5) for pose in unflagged]
    assert learned == sorted(learned, reverse=True) and len(unflagged) > 1
    assert [pose.vina_score for pose in unflagged] != sorted(pose.vina_score for pose in unflagged)


class CentroidHeight(torch.nn.Module):
    """A stand-in confidence model: the logit is the ligand centroid's z coordinate."""

    def forward(self, batch):
        return scatter(batch[LIGAND].pos[:, 2], batch[LIGAND].batch, dim=0, reduce="mean")
