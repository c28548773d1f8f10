"""The score model and latent encoder: symmetries, latent conditioning, batching, gradients."""

from __future__ import annotations

import pytest
import torch
from e3nn import o3
from torch_geometric.data import Batch, HeteroData

from disco_dock.core.latents import segment_gumbel_softmax_st
from disco_dock.docking.data.graph import LIGAND, RECEPTOR, ROTATABLE_BOND, count_graphs
from disco_dock.docking.model import (
    LatentEncoder,
    ScoreModel,
    Scores,
    join_latents,
    latent_segment,
    split_latents,
)
from disco_dock.docking.model.graph import cross_edges, hops_to
from disco_dock.docking.model.layers import EdgeTensorProduct
from tests.support.equivariance import assert_equivariant
from tests.support.models import TINY, batched_latents, pocket_residues, pointer_latents


@pytest.fixture(scope="module")
def model() -> ScoreModel:
    torch.manual_seed(0)
    return ScoreModel(TINY).double().eval()


@pytest.fixture(scope="module")
def encoder() -> LatentEncoder:
    torch.manual_seed(1)
    return LatentEncoder(TINY).double().eval()


def sigmas(num_graphs: int, sigma_tr: float = 2.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-graph noise levels (translation in A, rotation and torsion in radians)."""
    full = torch.full((num_graphs,), 1.0, dtype=torch.float64)
    return sigma_tr * full, 0.3 * full, 0.5 * full


def assert_scores_close(a: Scores, b: Scores, atol: float = 1e-9) -> None:
    """Every score of `a` equals `b`'s within `atol`."""
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, atol=atol, rtol=0)


@pytest.mark.parametrize(
    "irreps",
    [
        ("5x0e + 2x1o + 2x1e", "0e + 1o", "5x0e + 2x1o + 2x1e"),
        ("3x0e + 2x1o + 2x1e", "0e + 1o + 2e", "1x1o + 1x1e"),
        ("4x0e + 2x1o + 3x1e", "2e + 1o + 2o + 3o", "5x0o"),
    ],
)
def test_edge_tensor_product_matches_e3nn(irreps: tuple[str, str, str]) -> None:
    """Same values as e3nn's FullyConnectedTensorProduct once the weights are laid out alike."""
    torch.manual_seed(0)
    mine = EdgeTensorProduct(*map(o3.Irreps, irreps))
    reference = o3.FullyConnectedTensorProduct(*irreps, shared_weights=False)
    assert mine.weight_numel == reference.weight_numel
    n = 5
    x, y = o3.Irreps(irreps[0]).randn(n, -1), o3.Irreps(irreps[1]).randn(n, -1)
    weights = torch.randn(n, reference.weight_numel)
    blocks, start = {}, 0
    for ins in reference.instructions:  # e3nn: one (in channels, 1, out channels) block per path
        size = ins.path_shape[0] * ins.path_shape[2]
        blocks[ins.i_in1, ins.i_in2, ins.i_out] = weights[:, start : start + size].reshape(n, ins.path_shape[0], ins.path_shape[2])
        start += size
    mine_weights = torch.cat(
        [
            torch.cat([blocks[i_in, i_sh, i_out] for i_in, i_sh in paths], dim=1).transpose(1, 2).reshape(n, -1)
            for i_out, paths in enumerate(mine.paths)
            if paths
        ],
        dim=1,
    )
    torch.testing.assert_close(mine(x, y, mine_weights), reference(x, y, weights), atol=1e-5, rtol=0)


def test_score_model_is_se3_equivariant(model: ScoreModel, complexes: dict[str, HeteroData]) -> None:
    graph = complexes["1s3v"]
    latents = pointer_latents(graph, [3, graph[LIGAND].num_nodes + 10])
    scores = assert_equivariant(lambda moved: model(moved, *sigmas(1), latents), graph, ["1o", "1e", "0e"])
    assert Scores(*scores).torsion.abs().min() > 0  # the test is not vacuous


def test_score_model_parity(model: ScoreModel, complexes: dict[str, HeteroData]) -> None:
    """Mirroring the whole complex mirrors the scores: translation is a vector, rotation a
    pseudovector, torsion a pseudoscalar (the dihedral angles change sign)."""
    assert_equivariant(lambda moved: model(moved, *sigmas(1)), complexes["1s3v"], ["1o", "1e", "0o"], inversion=True)


def test_encoder_logits_are_invariant(encoder: LatentEncoder, complexes: dict[str, HeteroData]) -> None:
    graph = complexes["1ia1"]
    logits, segment = encoder(graph)
    assert_equivariant(lambda moved: encoder(moved)[0], graph, "0e", seed=1, atol=1e-9)
    assert logits.shape == (graph[LIGAND].num_nodes + graph[RECEPTOR].num_nodes, TINY.num_latents)
    assert (segment == 0).all()


def test_latent_labels_reach_the_model(model: ScoreModel, complexes: dict[str, HeteroData]) -> None:
    graph = complexes["1ia1"]
    near, other_near = pocket_residues(graph, 2)
    noise = sigmas(1)
    reference = model(graph, *noise, pointer_latents(graph, [0, near]))
    other_atom = model(graph, *noise, pointer_latents(graph, [4, near]))
    other_residue = model(graph, *noise, pointer_latents(graph, [0, other_near]))
    swapped = model(graph, *noise, pointer_latents(graph, [near, 0]))
    unconditional = model(graph, *noise, None)
    for other in (other_atom, other_residue, swapped, unconditional):
        assert not torch.allclose(reference.translation, other.translation)
        assert not torch.allclose(reference.torsion, other.torsion)
    dropped = torch.tensor([True])
    assert_scores_close(model(graph, *noise, pointer_latents(graph, [0, near]), dropped), unconditional)
    assert_scores_close(model(graph, *noise, torch.zeros_like(pointer_latents(graph, [0, 1]))), unconditional)


def test_without_latents(complexes: dict[str, HeteroData]) -> None:
    """num_latents=0 is the plain DiffDock score model; it has no encoder."""
    config = TINY.replace(num_latents=0)
    scores = ScoreModel(config).double()(complexes["1s3v"], *sigmas(1))
    assert scores.translation.shape == (1, 3) and scores.rotation.shape == (1, 3)
    assert scores.torsion.shape == (complexes["1s3v"][ROTATABLE_BOND].edge_index.shape[1],)
    with pytest.raises(ValueError, match="num_latents"):
        LatentEncoder(config)


def test_batch_gives_each_complex_its_own_scores(model: ScoreModel, encoder: LatentEncoder, complexes: dict[str, HeteroData]) -> None:
    graphs = [complexes["1ia1"], complexes["1s3v"]]
    batch = Batch.from_data_list(graphs)
    assert count_graphs(batch) == 2
    latents = [pointer_latents(graph, [1, pocket_residues(graph, 1)[0]]) for graph in graphs]
    sigma_tr, sigma_rot, sigma_tor = torch.tensor([[2.0, 6.0], [0.3, 0.8], [0.5, 1.0]], dtype=torch.float64)
    together = model(batch, sigma_tr, sigma_rot, sigma_tor, batched_latents(graphs, latents), torch.tensor([False, False]))
    torsions = together.torsion.split([graph[ROTATABLE_BOND].edge_index.shape[1] for graph in graphs])
    for i, graph in enumerate(graphs):
        alone = model(graph, sigma_tr[i : i + 1], sigma_rot[i : i + 1], sigma_tor[i : i + 1], latents[i])
        assert_scores_close(Scores(together.translation[i : i + 1], together.rotation[i : i + 1], torsions[i]), alone)

    logits, segment = encoder(batch)
    ligand_logits, receptor_logits = split_latents(logits, batch)
    ligand_segment, receptor_segment = split_latents(segment[:, None], batch)
    for i, graph in enumerate(graphs):
        alone, _ = encoder(graph)
        mine = torch.cat([ligand_logits[ligand_segment[:, 0] == i], receptor_logits[receptor_segment[:, 0] == i]])
        torch.testing.assert_close(mine, alone, atol=1e-9, rtol=0)


def test_gradients_reach_every_parameter(complexes: dict[str, HeteroData]) -> None:
    """End to end as in DisCo training: encoder logits -> straight-through latents -> scores.

    The latents are drawn with `segment_gumbel_softmax_st`, then their hard part is set so that
    one points at a ligand atom and one at a pocket residue (a label's weights learn only from nodes
    it marks); complex 1's latents are dropped (the null vectors learn only from those).
    """
    torch.manual_seed(2)
    model, encoder = ScoreModel(TINY).double(), LatentEncoder(TINY).double()
    graphs = [complexes["1ia1"], complexes["1s3v"]]
    batch = Batch.from_data_list(graphs)
    logits, segment = encoder(batch)
    latents = segment_gumbel_softmax_st(logits, segment, count_graphs(batch))
    hard = batched_latents(graphs, [pointer_latents(graph, [0, pocket_residues(graph, 1)[0]]) for graph in graphs])
    latents = latents - latents.detach() + hard
    scores = model(batch, *sigmas(2), latents, latent_dropped=torch.tensor([False, True]))
    sum(score.pow(2).sum() for score in scores).backward()
    for name, parameter in [*model.named_parameters(), *encoder.named_parameters()]:
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_latent_node_order(complexes: dict[str, HeteroData]) -> None:
    """Ligand rows of the whole batch first, then receptor rows; segments are the graphs."""
    graphs = [complexes["1ia1"], complexes["1s3v"]]
    batch = Batch.from_data_list(graphs)
    segment = latent_segment(batch)
    ligand, receptor = split_latents(segment, batch)
    assert ligand.tolist() == [0] * graphs[0][LIGAND].num_nodes + [1] * graphs[1][LIGAND].num_nodes
    assert receptor.tolist() == [0] * graphs[0][RECEPTOR].num_nodes + [1] * graphs[1][RECEPTOR].num_nodes
    torch.testing.assert_close(join_latents(ligand, receptor), segment)
    with pytest.raises(ValueError, match="latent rows"):
        split_latents(segment[1:], batch)


def test_cross_edges_grow_with_noise_and_are_capped(complexes: dict[str, HeteroData]) -> None:
    graph = complexes["1ia1"]
    pos, receptor_pos = graph[LIGAND].pos, graph[RECEPTOR].pos
    counts = []
    for sigma_tr in (0.0, 10.0):
        cutoff = torch.tensor([TINY.cross_cutoff(sigma_tr)], dtype=torch.float64)
        ligand_atom, residue = cross_edges(graph, pos, cutoff, TINY)
        assert ((pos[ligand_atom] - receptor_pos[residue]).norm(dim=-1) <= cutoff).all()
        assert torch.bincount(ligand_atom).max() <= TINY.cross_max_neighbors
        counts.append(len(ligand_atom))
    assert 0 < counts[0] < counts[1] == graph[LIGAND].num_nodes * TINY.cross_max_neighbors


def test_hops_to() -> None:
    chain = torch.tensor([[0, 1, 2, 4], [1, 2, 3, 3]])  # 0 -> 1 -> 2 -> 3 <- 4
    targets = torch.tensor([False, False, False, True, False])
    assert hops_to(targets, chain, 5, max_hops=3).tolist() == [3, 2, 1, 0, 1]
    assert hops_to(targets, chain, 5, max_hops=1).tolist() == [2, 2, 1, 0, 1]


def test_receptor_pruning_is_exact(complexes: dict[str, HeteroData]) -> None:
    """Updating only the residues that can still reach the ligand leaves the scores unchanged."""
    torch.manual_seed(3)
    model = ScoreModel(TINY.replace(num_layers=4)).double()
    graph = complexes["1ia1"]
    pruned = model(graph, *sigmas(1, sigma_tr=0.5))
    model.trunk.read_receptor = True  # every residue updated in every layer
    assert_scores_close(model(graph, *sigmas(1, sigma_tr=0.5)), pruned)
