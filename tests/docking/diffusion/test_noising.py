"""Forward noising, score-matching loss and reverse step of the pose diffusion, on batches of
real preprocessed complexes (posebusters) from torch-geometric's DataLoader."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import torch
from torch_geometric.data import HeteroData
from torch_geometric.loader import DataLoader

from disco_dock.docking.config import TrainingConfig
from disco_dock.docking.data import ComplexDataset, torsion_mask
from disco_dock.docking.data.graph import LIGAND, LIGAND_BOND, ROTATABLE_BOND, TORSION, TORSION_MOVES
from disco_dock.docking.diffusion import (
    NoiseSchedule,
    PoseNoiseSchedules,
    ScoreScales,
    bond_graph_index,
    initial_pose,
    ligand_centroids,
    move_ligands,
    noise_batch,
    reverse_sde_step,
    sample_pose_noise,
    sample_times,
    score_matching_loss,
)
from disco_dock.docking.geometry import apply_pose_update

SCHEDULES = PoseNoiseSchedules()


@pytest.fixture(scope="module")
def graphs(posebusters_cache: Path) -> list[HeteroData]:
    """Three complexes with 2, 3 and 6 rotatable bonds."""
    return list(ComplexDataset(posebusters_cache, names=["1ia1", "1of6", "1s3v"]))


@pytest.fixture(scope="module")
def batch(graphs: list[HeteroData]) -> HeteroData:
    """The three complexes as one DataLoader batch."""
    return next(iter(DataLoader(graphs, batch_size=len(graphs))))


def rigid(graph: HeteroData) -> HeteroData:
    """A copy of `graph` without rotatable bonds."""
    graph = copy.copy(graph)
    graph[TORSION].num_nodes = 0
    graph[ROTATABLE_BOND].edge_index = torch.zeros(2, 0, dtype=torch.long)
    graph[TORSION_MOVES].edge_index = torch.zeros(2, 0, dtype=torch.long)
    return graph


def bond_lengths(batch: HeteroData, pos: torch.Tensor) -> torch.Tensor:
    """Lengths of all covalent bonds of the ligands."""
    source, target = batch[LIGAND_BOND].edge_index
    return (pos[source] - pos[target]).norm(dim=-1)


def per_graph_rmsd(batch: HeteroData, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(G,) RMSD between two poses of every ligand, without alignment."""
    graph = batch[LIGAND].batch
    squared = torch.zeros(batch.num_graphs).index_add_(0, graph, ((a - b) ** 2).sum(-1))
    return (squared / torch.bincount(graph)).sqrt()


def test_sample_times_in_unit_interval() -> None:
    t = sample_times(10_000, torch.Generator().manual_seed(0))
    assert t.shape == (10_000,) and t.min() > 0 and t.max() <= 1
    assert abs(float(t.mean()) - 0.5) < 0.02


def test_noised_pose_is_rigid_plus_torsions(batch: HeteroData, graphs: list[HeteroData]) -> None:
    clean = batch[LIGAND].pos.clone()
    noised_batch, noised = noise_batch(batch, SCHEDULES, generator=torch.Generator().manual_seed(0))
    pos = noised_batch[LIGAND].pos
    torch.testing.assert_close(batch[LIGAND].pos, clean)  # the input is untouched
    assert noised_batch[LIGAND].crystal_pos is batch[LIGAND].crystal_pos
    assert noised.t.shape == noised.sigma_tor.shape == (3,)
    assert noised.perturbation.torsion.shape == noised.tor_score.shape == (batch[TORSION].num_nodes,)
    torch.testing.assert_close(bond_lengths(batch, pos), bond_lengths(batch, clean), atol=1e-4, rtol=0)
    # the centroid moves by exactly the translation (torsion changes are Kabsch-aligned)
    centroid_shift = ligand_centroids(batch, pos) - ligand_centroids(batch)
    torch.testing.assert_close(centroid_shift, noised.perturbation.translation, atol=1e-4, rtol=0)
    # each graph is moved as it would be on its own, by its own bonds and moved atoms
    for index, graph in enumerate(graphs):
        bonds = bond_graph_index(batch) == index
        alone = apply_pose_update(
            graph[LIGAND].pos,
            noised.perturbation.translation[index],
            noised.perturbation.rotvec[index],
            noised.perturbation.torsion[bonds],
            graph[ROTATABLE_BOND].edge_index.T,
            torsion_mask(graph),
        )
        torch.testing.assert_close(pos[batch[LIGAND].batch == index], alone)


def test_perturbation_vanishes_as_t_goes_to_zero(batch: HeteroData) -> None:
    generator = torch.Generator().manual_seed(1)
    tiny = PoseNoiseSchedules(NoiseSchedule(1e-5, 19.0), NoiseSchedule(0.01, 1.55), NoiseSchedule(1e-5, 3.14))
    noised_batch, _ = noise_batch(batch, tiny, t=0.0, generator=generator)
    assert per_graph_rmsd(batch, noised_batch[LIGAND].pos, batch[LIGAND].pos).max() < 0.3
    def mean_rmsd(t: float) -> torch.Tensor:
        draws = [noise_batch(batch, SCHEDULES, t, generator)[0][LIGAND].pos for _ in range(5)]
        return torch.stack([per_graph_rmsd(batch, pos, batch[LIGAND].pos) for pos in draws]).mean()

    assert mean_rmsd(0.0) < 1.0 < mean_rmsd(0.5) < mean_rmsd(1.0)


def test_loss_vanishes_only_at_the_normalised_targets(batch: HeteroData) -> None:
    _, noised = noise_batch(batch, SCHEDULES, generator=torch.Generator().manual_seed(2))
    targets = noised.normalised_targets()
    total, parts = score_matching_loss(*targets, noised)
    assert float(total) == 0 and all(float(part) == 0 for part in parts.values())
    for component in range(3):
        wrong = [target.clone() for target in targets]
        wrong[component] = wrong[component] + 0.1
        total, parts = score_matching_loss(*wrong, noised, weights=(1.0, 2.0, 3.0))
        assert list(parts) == ["translation", "rotation", "torsion"]
        torch.testing.assert_close(parts[list(parts)[component]], torch.tensor(0.01))
        torch.testing.assert_close(total, torch.tensor(0.01 * (component + 1)))
    # scaling the normalised targets back gives the scores of the perturbation kernels
    scores = ScoreScales.at(noised.sigma_tr, noised.sigma_rot, noised.sigma_tor, noised.bond_graph).actual(*targets)
    for scaled, score in zip(scores, (noised.tr_score, noised.rot_score, noised.tor_score)):
        torch.testing.assert_close(scaled, score)


def test_torsion_loss_is_averaged_per_graph() -> None:
    noised = sample_pose_noise(torch.tensor([0.3, 0.6, 0.9]), SCHEDULES, torch.tensor([0, 0, 0, 2]))
    target_tr, target_rot, target_tor = noised.normalised_targets()
    _, parts = score_matching_loss(target_tr, target_rot, target_tor + torch.tensor([1.0, 1.0, 1.0, 3.0]), noised)
    torch.testing.assert_close(parts["torsion"], torch.tensor((1.0 + 9.0) / 2))  # graph 1 has no bonds


def test_normalised_targets_have_unit_second_moments() -> None:
    generator = torch.Generator().manual_seed(3)
    count = 20_000
    t = sample_times(count, generator, torch.float64)
    target_tr, target_rot, target_tor = sample_pose_noise(t, SCHEDULES, torch.arange(count), generator).normalised_targets()
    for half in (t < 0.5, t >= 0.5):  # O(1) at every noise level
        assert (target_tr[half] ** 2).mean() == pytest.approx(1.0, abs=0.05)  # per component
        assert (target_rot[half] ** 2).sum(-1).mean() == pytest.approx(1.0, abs=0.05)
        assert (target_tor[half] ** 2).mean() == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("ode", [False, True])
def test_oracle_reverse_step_moves_toward_the_clean_pose(batch: HeteroData, ode: bool) -> None:
    clean = batch[LIGAND].pos
    t, dt = 0.5, 0.05
    noised_batch, noised = noise_batch(batch, SCHEDULES, t=t, generator=torch.Generator().manual_seed(4))
    kernel_scores = (noised.tr_score, noised.rot_score, noised.tor_score)
    update = reverse_sde_step(noised_batch, *kernel_scores, t, dt, SCHEDULES, noise_scale=0.0, ode=ode)
    stepped = move_ligands(noised_batch, update)
    # with the exact translation score, the centroid offset shrinks by 1 - (g^2 / sigma^2) dt (halved for the ODE)
    shrink = 1 - (0.5 if ode else 1.0) * 2 * math.log(19.0 / 0.1) * dt
    centroid_offset = ligand_centroids(batch, stepped) - ligand_centroids(batch)
    torch.testing.assert_close(centroid_offset, shrink * noised.perturbation.translation, atol=1e-4, rtol=1e-4)
    assert (per_graph_rmsd(batch, stepped, clean) < per_graph_rmsd(batch, noised_batch[LIGAND].pos, clean)).all()
    torch.testing.assert_close(bond_lengths(batch, stepped), bond_lengths(batch, clean), atol=1e-4, rtol=0)


def test_reverse_sde_noise_scale(batch: HeteroData) -> None:
    scores = (torch.zeros(3, 3), torch.zeros(3, 3), torch.zeros(batch[TORSION].num_nodes))
    t, dt = torch.tensor([0.2, 0.5, 0.9]), 0.01
    update = reverse_sde_step(batch, *scores, t, dt, SCHEDULES, noise_scale=0.5, generator=torch.Generator().manual_seed(5))
    assert all(torch.count_nonzero(part) == part.numel() for part in update)
    expected_std = 0.5 * (SCHEDULES.translation.g_squared(t) * dt).sqrt()
    assert ((update.translation / expected_std[:, None]).abs() < 6).all()
    ode = reverse_sde_step(batch, *scores, t, dt, SCHEDULES, ode=True)
    assert all(torch.count_nonzero(part) == 0 for part in ode)


def test_initial_pose(batch: HeteroData, graphs: list[HeteroData]) -> None:
    generator = torch.Generator().manual_seed(6)
    pos = initial_pose(batch, SCHEDULES, generator=generator)
    torch.testing.assert_close(bond_lengths(batch, pos), bond_lengths(batch, batch[LIGAND].pos), atol=1e-4, rtol=0)
    assert per_graph_rmsd(batch, pos, batch[LIGAND].pos).min() > 2.0
    # without translation noise the centroid lands on the centre: the receptor's, or a given pocket's
    fixed = PoseNoiseSchedules(translation=NoiseSchedule(0.1, 0.0))
    receptor_centres = torch.stack([graph["receptor"].pos.mean(0) for graph in graphs])
    blind = initial_pose(batch, fixed, generator=generator)
    torch.testing.assert_close(ligand_centroids(batch, blind), receptor_centres, atol=1e-3, rtol=0)
    pocket = torch.tensor([1.0, 2.0, 3.0])
    targeted = initial_pose(batch, fixed, pocket, generator)
    torch.testing.assert_close(ligand_centroids(batch, targeted), pocket.expand(3, 3), atol=1e-3, rtol=0)


@pytest.mark.parametrize("position", [0, 1])
def test_graph_without_rotatable_bonds(graphs: list[HeteroData], position: int) -> None:
    members = [graphs[0], graphs[1]]
    members[position] = rigid(members[position])
    batch = next(iter(DataLoader(members, batch_size=2)))
    for data in (batch, rigid(graphs[2])):  # in a batch, and alone (unbatched, no bonds at all)
        noised_batch, noised = noise_batch(data, SCHEDULES, generator=torch.Generator().manual_seed(7))
        pos = noised_batch[LIGAND].pos
        torch.testing.assert_close(bond_lengths(data, pos), bond_lengths(data, data[LIGAND].pos), atol=1e-4, rtol=0)
        centroid_shift = ligand_centroids(data, pos) - ligand_centroids(data)
        torch.testing.assert_close(centroid_shift, noised.perturbation.translation, atol=1e-4, rtol=0)
        targets = noised.normalised_targets()
        total, parts = score_matching_loss(*targets, noised)
        assert float(total) == 0
        if data is not batch:
            _, parts = score_matching_loss(*(target + 1 for target in targets), noised)
            assert float(parts["torsion"]) == 0 and float(parts["translation"]) == pytest.approx(1.0)
        update = reverse_sde_step(noised_batch, noised.tr_score, noised.rot_score, noised.tor_score, 0.5, 0.05, SCHEDULES, ode=True)
        assert move_ligands(noised_batch, update).shape == pos.shape
        assert initial_pose(data, SCHEDULES).shape == pos.shape


def test_default_loss_weights_make_predicting_nothing_score_one_per_component() -> None:
    """The rotation target is unit-normalised over its 3-vector, the loss averages over components:
    TrainingConfig's weight 3 brings predicting nothing to 1 for rotation, as for the others."""
    generator = torch.Generator().manual_seed(4)
    count = 20_000
    t = sample_times(count, generator, torch.float64)
    noised = sample_pose_noise(t, SCHEDULES, torch.arange(count), generator)
    zeros = [torch.zeros_like(target) for target in noised.normalised_targets()]
    weights = TrainingConfig().loss_weights
    _, parts = score_matching_loss(*zeros, noised)
    assert float(parts["rotation"]) == pytest.approx(1 / 3, abs=0.02)
    for weight, part in zip(weights, parts.values()):
        assert weight * float(part) == pytest.approx(1.0, abs=0.05)
