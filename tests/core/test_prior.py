"""The autoregressive prior over discrete latents: fitting a known joint distribution, causality, conditioning."""

from __future__ import annotations

import itertools

import pytest
import torch

from disco_dock.core.prior import AutoregressivePrior, PriorConfig

# A correlated joint distribution p(z1, z2) over m = 2 latents with k = 4 codes; its greedy mode is (0, 0).
JOINT = torch.tensor(
    [
        [0.30, 0.05, 0.00, 0.00],
        [0.05, 0.15, 0.05, 0.00],
        [0.00, 0.05, 0.10, 0.05],
        [0.00, 0.00, 0.05, 0.15],
    ]
)
CODEBOOK_SIZE = JOINT.shape[0]
ALL_LATENTS = torch.tensor(list(itertools.product(range(CODEBOOK_SIZE), repeat=2)))
SMALL = PriorConfig(num_latents=2, codebook_size=CODEBOOK_SIZE, dim=32, layers=1, heads=2)


def _sample_joint(batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """Hard latents (batch_size, 2) drawn from JOINT."""
    flat = torch.multinomial(JOINT.flatten(), batch_size, replacement=True, generator=generator)
    return torch.stack([flat // CODEBOOK_SIZE, flat % CODEBOOK_SIZE], dim=1)


@pytest.fixture(scope="module")
def trained_prior() -> AutoregressivePrior:
    """A small prior fitted to samples of JOINT with a few hundred Adam steps (cosine decay averages out batch noise)."""
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    prior = AutoregressivePrior(SMALL)
    num_steps = 300
    optimizer = torch.optim.Adam(prior.parameters(), lr=1e-2)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, num_steps)
    for _ in range(num_steps):
        loss = prior.loss(_sample_joint(512, generator))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    return prior.eval()


def test_prior_sample_frequencies_match_joint(trained_prior):
    """Ancestral samples reproduce the joint table."""
    samples = trained_prior.sample(20_000, generator=torch.Generator().manual_seed(1))
    assert samples.shape == (20_000, 2) and samples.dtype == torch.long
    counts = torch.bincount(samples[:, 0] * CODEBOOK_SIZE + samples[:, 1], minlength=CODEBOOK_SIZE**2)
    torch.testing.assert_close(counts.float() / len(samples), JOINT.flatten(), atol=0.03, rtol=0)


def test_prior_log_prob_matches_joint(trained_prior):
    """exp(log_prob) of every latent pair matches its probability in the table."""
    with torch.no_grad():
        probabilities = trained_prior.log_prob(ALL_LATENTS).exp()
    torch.testing.assert_close(probabilities, JOINT.flatten(), atol=0.03, rtol=0)


def test_prior_low_temperature_concentrates_on_mode(trained_prior):
    """At temperature -> 0 ancestral sampling is greedy: every sample is the mode (0, 0)."""
    samples = trained_prior.sample(500, temperature=1e-3, generator=torch.Generator().manual_seed(2))
    assert torch.all(samples == 0)


@pytest.fixture
def untrained_prior() -> AutoregressivePrior:
    torch.manual_seed(0)
    return AutoregressivePrior(PriorConfig(num_latents=3, codebook_size=5, dim=16, layers=2, heads=2)).eval()


def test_prior_log_prob_is_normalised(untrained_prior):
    """Even untrained, exp(log_prob) sums to one over all k^m latent combinations."""
    latents = torch.tensor(list(itertools.product(range(5), repeat=3)))
    with torch.no_grad():
        total = untrained_prior.log_prob(latents).exp().sum()
    assert total.item() == pytest.approx(1.0, abs=1e-5)


def test_prior_logits_are_causal(untrained_prior, generator):
    """The logits of z_i do not depend on z_i, ..., z_m (only on the condition and z_<i)."""
    latents = torch.randint(0, 5, (8, 3), generator=generator)
    changed = latents.clone()
    changed[:, 1:] = (changed[:, 1:] + 1) % 5
    with torch.no_grad():
        logits, changed_logits = untrained_prior(latents), untrained_prior(changed)
    torch.testing.assert_close(logits[:, :2], changed_logits[:, :2], atol=1e-6, rtol=0)
    assert not torch.allclose(logits[:, 2], changed_logits[:, 2])


def test_prior_soft_one_hot_targets_equal_hard_targets(untrained_prior, generator):
    """Soft targets that are exactly one-hot give the same loss as the hard indices."""
    hard = torch.randint(0, 5, (16, 3), generator=generator)
    soft = torch.nn.functional.one_hot(hard, 5).float()
    torch.testing.assert_close(untrained_prior.loss(soft), untrained_prior.loss(hard))


def test_prior_soft_targets_give_gradient(untrained_prior, generator):
    """Relaxed (non one-hot) targets are accepted and differentiable, as for straight-through latents."""
    soft = torch.softmax(torch.randn(4, 3, 5, generator=generator), -1).requires_grad_()
    untrained_prior.loss(soft).backward()
    assert soft.grad is not None and soft.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "config_change, missing",
    [({"num_classes": 3}, "labels"), ({"context_dim": 4}, "context")],
)
def test_conditional_prior_requires_its_condition(config_change, missing):
    """A class- or context-conditional prior raises when its condition is missing, and works with it."""
    config = PriorConfig(num_latents=2, codebook_size=4, dim=16, layers=1, heads=2, **config_change)
    prior = AutoregressivePrior(config)
    latents = torch.zeros(3, 2, dtype=torch.long)
    with pytest.raises(ValueError, match=missing):
        prior.loss(latents)
    condition = {"labels": torch.tensor([0, 1, 2])} if missing == "labels" else {"context": torch.randn(3, 4)}
    assert prior.log_prob(latents, **condition).shape == (3,)
    assert prior.sample(3, **condition).shape == (3, 2)


def test_class_conditional_prior_depends_on_label():
    """Different class labels give different distributions (the condition reaches the first token)."""
    torch.manual_seed(0)
    prior = AutoregressivePrior(PriorConfig(num_latents=2, codebook_size=4, dim=16, layers=1, heads=2, num_classes=2))
    latents = torch.zeros(2, 2, dtype=torch.long)
    with torch.no_grad():
        log_probs = prior.log_prob(latents, labels=torch.tensor([0, 1]))
    assert log_probs[0] != log_probs[1]
