"""The latents' autoregressive prior: one-hot samples, normalised probabilities, causal teacher
forcing, greedy decoding, learning, invariance, and the trunk it shares with the score model."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch, HeteroData
from torch_geometric.utils import scatter

from disco_dock.docking.data.graph import LIGAND, RECEPTOR, count_graphs
from disco_dock.docking.diffusion.schedule import PoseNoiseSchedules
from disco_dock.docking.model import PointerPrior, ScoreModel, latent_segment
from tests.support.equivariance import assert_equivariant
from tests.support.models import TINY, batched_latents, pocket_residues, pointer_latents
from tests.support.training import adam_steps


@pytest.fixture(scope="module")
def small_complex(complexes: dict[str, HeteroData]) -> HeteroData:
    """1ia1 with only the 6 residues nearest its ligand: 25 nodes, so 625 latent pairs."""
    graph = complexes["1ia1"]
    nearest = (graph[RECEPTOR].pos - graph[LIGAND].pos.mean(dim=0)).norm(dim=-1).argsort()[:6]
    return graph.subgraph({RECEPTOR: nearest.sort().values})


def make_prior(seed: int) -> PointerPrior:
    """A float64 prior of `TINY` networks, initialised from `seed`."""
    torch.manual_seed(seed)
    return PointerPrior(TINY).double()


def assert_one_hot_per_segment(latents: torch.Tensor, batch: HeteroData) -> None:
    """Exactly one 1 (and otherwise 0) per complex and latent."""
    assert latents.shape == (len(latent_segment(batch)), TINY.num_latents)
    assert ((latents == 0) | (latents == 1)).all()
    per_graph = scatter(latents, latent_segment(batch), dim=0, dim_size=count_graphs(batch), reduce="sum")
    assert (per_graph == 1).all()


def greedy_latents(prior: PointerPrior, graph: HeteroData) -> list[int]:
    """The rows chosen by decoding one latent at a time with the argmax of its teacher-forced logits."""
    rows: list[int] = []
    for i in range(TINY.num_latents):
        logits = prior.logits(graph, pointer_latents(graph, rows + [0] * (TINY.num_latents - len(rows))))
        rows.append(int(logits[:, i].argmax()))
    return rows


def test_prior_samples_are_one_hot_per_complex(complexes: dict[str, HeteroData]) -> None:
    batch = Batch.from_data_list([complexes["1ia1"], complexes["1s3v"]])
    prior = make_prior(0)
    samples = prior.sample(batch, generator=torch.Generator().manual_seed(0))
    assert_one_hot_per_segment(samples, batch)
    assert torch.isfinite(prior.log_prob(batch, samples)).all() and prior.log_prob(batch, samples).shape == (2,)


def test_prior_probabilities_sum_to_one(small_complex: HeteroData) -> None:
    """Over every (node of latent 0, node of latent 1) pair of a 25-node complex: one batch of
    copies, one per node of latent 1, scored once per node of latent 0."""
    prior, num_nodes = make_prior(1), len(latent_segment(small_complex))
    copies = [small_complex] * num_nodes
    batch = Batch.from_data_list(copies)

    def latents(first: int) -> torch.Tensor:
        return batched_latents(copies, [pointer_latents(small_complex, [first, second]) for second in range(num_nodes)])

    log_probs = torch.stack([prior.log_prob(batch, latents(first)) for first in range(num_nodes)])
    assert torch.isfinite(log_probs).all()
    torch.testing.assert_close(log_probs.exp().sum(), torch.tensor(1.0, dtype=torch.float64), atol=1e-9, rtol=0)


def test_teacher_forcing_is_causal(small_complex: HeteroData) -> None:
    """Latent 0's logits ignore every target; latent 1's see latent 0's target only."""
    prior, ligand_atoms = make_prior(2), small_complex[LIGAND].num_nodes
    reference = prior.logits(small_complex, pointer_latents(small_complex, [0, ligand_atoms]))
    other_second = prior.logits(small_complex, pointer_latents(small_complex, [0, 3]))
    other_first = prior.logits(small_complex, pointer_latents(small_complex, [ligand_atoms + 1, ligand_atoms]))
    torch.testing.assert_close(other_second, reference, atol=1e-12, rtol=0)
    torch.testing.assert_close(other_first[:, 0], reference[:, 0], atol=1e-12, rtol=0)
    assert not torch.allclose(other_first[:, 1], reference[:, 1])


def test_low_temperature_decodes_greedily(small_complex: HeteroData) -> None:
    prior = make_prior(3)
    expected = pointer_latents(small_complex, greedy_latents(prior, small_complex))
    for seed in range(3):
        torch.testing.assert_close(prior.sample(small_complex, temperature=1e-6, generator=torch.Generator().manual_seed(seed)), expected)


def test_prior_learns_a_target(small_complex: HeteroData) -> None:
    """A few dozen Adam steps on one complex's latents make them the greedy decoding."""
    graph = small_complex
    target_rows = [5, graph[LIGAND].num_nodes + 4]
    target = pointer_latents(graph, target_rows)
    prior = make_prior(4)
    losses = adam_steps(prior.parameters(), lambda: prior.loss(graph, target), steps=40, lr=1e-2)
    assert prior.loss(graph, target) < 0.5 * losses[0]
    assert greedy_latents(prior, graph) == target_rows


def test_prior_accepts_soft_targets(small_complex: HeteroData) -> None:
    """A soft target gives the cross-entropy: for latent 0 (whose logits see no target), the
    probability-weighted mix of the one-hot log-probabilities."""
    prior = make_prior(5)
    first_only = torch.tensor([1.0, 0.0], dtype=torch.float64)  # an all-zero column adds nothing

    def log_prob(rows: list[float]) -> torch.Tensor:
        return prior.log_prob(small_complex, sum(weight * pointer_latents(small_complex, [row, 0]) for row, weight in rows) * first_only)

    torch.testing.assert_close(log_prob([(3, 0.75), (20, 0.25)]), 0.75 * log_prob([(3, 1.0)]) + 0.25 * log_prob([(20, 1.0)]))
    soft = 0.5 * (pointer_latents(small_complex, [3, 20]) + pointer_latents(small_complex, [20, 3]))
    assert torch.isfinite(prior.loss(small_complex, soft))


def test_logits_are_invariant_to_rigid_motions(complexes: dict[str, HeteroData]) -> None:
    graph = complexes["1s3v"]
    latents = pointer_latents(graph, [2, pocket_residues(graph, 1)[0]])
    prior = make_prior(6)
    assert_equivariant(lambda moved: prior.logits(moved, latents), graph, "0e", seed=4, atol=1e-9)


def test_prior_reuses_the_score_models_trunk(complexes: dict[str, HeteroData]) -> None:
    """Every weight but the last layer's receptor update is copied, and the ligand's trunk
    features match the score model's at the largest noise with latents dropped."""
    graph = complexes["1ia1"]
    torch.manual_seed(9)
    score_model, prior = ScoreModel(TINY).double(), make_prior(10)
    not_copied = prior.load_trunk_from(score_model)
    last = f"layers.{TINY.num_layers - 1}."
    assert not_copied and all(name.startswith((last + "receptor_from", last + "receptor_norm")) for name in not_copied)
    source = dict(score_model.trunk.named_parameters())
    for name, parameter in prior.trunk.named_parameters():
        if name not in not_copied:
            torch.testing.assert_close(parameter, source[name], atol=0, rtol=0)

    outputs = {}
    for key, trunk in (("score", score_model.trunk), ("prior", prior.trunk)):
        trunk.register_forward_hook(lambda module, inputs, output, key=key: outputs.__setitem__(key, output[0]))
    sigmas = PoseNoiseSchedules().sigmas(1.0)
    score_model(graph, *(torch.tensor([sigma], dtype=torch.float64) for sigma in sigmas))
    prior.logits(graph, pointer_latents(graph, [0, 1]))
    torch.testing.assert_close(outputs["prior"], outputs["score"], atol=1e-9, rtol=0)


def test_frozen_trunk_gets_no_gradients(small_complex: HeteroData) -> None:
    prior = make_prior(11)
    target = pointer_latents(small_complex, [0, small_complex[LIGAND].num_nodes])
    for frozen in (True, False):
        prior.zero_grad(set_to_none=True)
        prior.freeze_trunk(frozen)
        prior.loss(small_complex, target).backward()
        trunk_grads = [parameter.grad for parameter in prior.trunk.parameters()]
        assert all((grad is None) == frozen for grad in trunk_grads)
        assert all(parameter.grad is not None for name, parameter in prior.named_parameters() if not name.startswith("trunk."))
