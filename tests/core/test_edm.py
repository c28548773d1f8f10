"""EDM preconditioning identities, loss, noise schedule and the Heun/Euler samplers (Karras et al. 2022)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from disco_dock.core.edm import (
    EDMConfig,
    EDMDenoiser,
    SamplerConfig,
    edm_loss,
    loss_weight,
    preconditioning,
    sample,
    sigma_schedule,
    training_sigma,
)
from tests.support.denoisers import SIGMA_DATA

CONFIG = EDMConfig(sigma_data=SIGMA_DATA)
SIGMAS = torch.tensor([0.002, 0.05, 0.5, 1.0, 7.0, 80.0], dtype=torch.float64)


def _exact_final_state(noise: torch.Tensor) -> torch.Tensor:
    """Solution of the Gaussian-data probability-flow ODE at sigma = 0 from x(sigma_max) = sigma_max * noise."""
    sigma_max = CONFIG.sigma_max
    return noise * sigma_max * SIGMA_DATA / math.sqrt(sigma_max**2 + SIGMA_DATA**2)


def _relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    return ((actual - expected).abs().max() / expected.abs().max()).item()


# ---------------------------------------------------------------- preconditioning


def test_preconditioning_limits_at_small_sigma():
    """As sigma -> 0 the denoiser becomes the identity: c_skip -> 1, c_out -> 0."""
    c_skip, c_out, _, _ = preconditioning(torch.tensor(1e-8, dtype=torch.float64), SIGMA_DATA)
    assert c_skip.item() == pytest.approx(1.0, abs=1e-12)
    assert c_out.item() == pytest.approx(0.0, abs=1e-7)


def test_preconditioning_input_has_unit_variance():
    """c_in^2 (sigma^2 + sigma_data^2) = 1: the network input has unit variance at every noise level."""
    _, _, c_in, _ = preconditioning(SIGMAS, SIGMA_DATA)
    torch.testing.assert_close(c_in**2 * (SIGMAS**2 + SIGMA_DATA**2), torch.ones_like(SIGMAS))


def test_preconditioning_noise_embedding():
    """c_noise = ln(sigma) / 4."""
    _, _, _, c_noise = preconditioning(SIGMAS, SIGMA_DATA)
    torch.testing.assert_close(c_noise, SIGMAS.log() / 4)


def test_effective_target_variance_identity():
    """Var(y - c_skip x) = c_out^2 in closed form, for y ~ N(0, sigma_data^2), x = y + sigma n."""
    c_skip, c_out, _, _ = preconditioning(SIGMAS, SIGMA_DATA)
    variance = (1 - c_skip) ** 2 * SIGMA_DATA**2 + c_skip**2 * SIGMAS**2
    torch.testing.assert_close(variance, c_out**2)


@pytest.mark.parametrize("sigma", [0.01, 0.5, 3.0, 80.0])
def test_effective_training_target_has_unit_variance(sigma, generator):
    """F_target = (y - c_skip x) / c_out has unit variance when y ~ N(0, sigma_data^2) and x = y + sigma n."""
    clean = torch.randn(200_000, dtype=torch.float64, generator=generator) * SIGMA_DATA
    noisy = clean + sigma * torch.randn(200_000, dtype=torch.float64, generator=generator)
    c_skip, c_out, _, _ = preconditioning(torch.tensor(sigma, dtype=torch.float64), SIGMA_DATA)
    target = (clean - c_skip * noisy) / c_out
    assert target.var().item() == pytest.approx(1.0, abs=0.015)


def test_loss_weight_cancels_output_scale():
    """lambda(sigma) c_out(sigma)^2 = 1, so the effective network loss is unweighted."""
    _, c_out, _, _ = preconditioning(SIGMAS, SIGMA_DATA)
    torch.testing.assert_close(loss_weight(SIGMAS, SIGMA_DATA) * c_out**2, torch.ones_like(SIGMAS))


class _RecordingNetwork(nn.Module):
    """Returns zeros and remembers what it was called with."""

    def forward(self, x, c_noise, **kwargs):
        self.calls = getattr(self, "calls", []) + [(x, c_noise, kwargs)]
        return torch.zeros_like(x)


def test_edm_denoiser_with_zero_network_returns_skip_connection(generator):
    """D(x; sigma) = c_skip x when F = 0; F sees c_in x, c_noise of shape (B,) and the extra kwargs."""
    network = _RecordingNetwork()
    denoiser = EDMDenoiser(network, sigma_data=SIGMA_DATA)
    x = torch.randn(4, 3, 2, generator=generator)
    sigma = torch.tensor([0.1, 1.0, 2.0, 30.0])
    marker = object()
    out = denoiser(x, sigma, latents=marker)
    c_skip, _, c_in, c_noise = preconditioning(sigma.reshape(-1, 1, 1), SIGMA_DATA)
    torch.testing.assert_close(out, c_skip * x)
    (network_input, network_noise, kwargs), = network.calls
    torch.testing.assert_close(network_input, c_in * x)
    torch.testing.assert_close(network_noise, c_noise.reshape(-1))
    assert kwargs == {"latents": marker}


def test_edm_denoiser_accepts_scalar_sigma(generator):
    """A scalar sigma is broadcast to the whole batch."""
    denoiser = EDMDenoiser(_RecordingNetwork(), sigma_data=SIGMA_DATA)
    x = torch.randn(3, 5, generator=generator)
    batched = denoiser(x, torch.full((3,), 0.7))
    torch.testing.assert_close(denoiser(x, torch.tensor(0.7)), batched)


# ---------------------------------------------------------------- training noise and loss


def test_training_sigma_is_log_normal(generator):
    """ln(sigma) ~ N(p_mean, p_std^2)."""
    log_sigma = training_sigma(100_000, CONFIG, generator=generator).log()
    assert log_sigma.mean().item() == pytest.approx(CONFIG.p_mean, abs=0.02)
    assert log_sigma.std().item() == pytest.approx(CONFIG.p_std, abs=0.02)


def test_edm_loss_of_exact_denoiser_is_one_per_dimension(gaussian_denoise, generator):
    """For Gaussian data the optimal denoiser's weighted loss is lambda c_out^2 = 1 at every sigma."""
    clean = torch.randn(8192, 8, dtype=torch.float64, generator=generator) * SIGMA_DATA
    losses = edm_loss(lambda x, sigma: gaussian_denoise(x, sigma), clean, CONFIG, generator=generator)
    assert losses.shape == (8192,)
    assert losses.mean().item() == pytest.approx(1.0, abs=0.03)


def test_edm_loss_passes_kwargs_to_denoiser(generator):
    """Extra keyword arguments (latents, labels) reach the denoiser."""
    seen = {}

    def denoiser(x, sigma, **kwargs):
        seen.update(kwargs)
        return x

    edm_loss(denoiser, torch.zeros(2, 3), CONFIG, generator=generator, latents="z", labels="y")
    assert seen == {"latents": "z", "labels": "y"}


# ---------------------------------------------------------------- schedule


@pytest.mark.parametrize("num_steps", [2, 7, 18])
def test_sigma_schedule_shape_and_endpoints(num_steps):
    """sigma_max first, sigma_min last non-zero, then 0; strictly decreasing; num_steps + 1 entries."""
    sigmas = sigma_schedule(num_steps, CONFIG)
    assert sigmas.shape == (num_steps + 1,)
    assert sigmas[0].item() == pytest.approx(CONFIG.sigma_max)
    assert sigmas[-2].item() == pytest.approx(CONFIG.sigma_min)
    assert sigmas[-1].item() == 0.0
    assert torch.all(sigmas[1:] < sigmas[:-1])


def test_sigma_schedule_midpoint_follows_rho_formula():
    """The middle of an odd schedule is ((sigma_max^(1/rho) + sigma_min^(1/rho)) / 2)^rho."""
    sigmas = sigma_schedule(9, CONFIG)
    inv_rho = 1 / CONFIG.rho
    expected = ((CONFIG.sigma_max**inv_rho + CONFIG.sigma_min**inv_rho) / 2) ** CONFIG.rho
    assert sigmas[4].item() == pytest.approx(expected, rel=1e-12)


def test_sigma_schedule_rejects_zero_steps():
    with pytest.raises(ValueError):
        sigma_schedule(0, CONFIG)


# ---------------------------------------------------------------- samplers


@pytest.fixture
def noise(generator) -> torch.Tensor:
    return torch.randn(16, 3, dtype=torch.float64, generator=generator)


def test_heun_solves_gaussian_probability_flow_ode(gaussian_denoise, noise):
    """Heun reaches the exact ODE solution x0 sigma_data / sqrt(sigma_max^2 + sigma_data^2)."""
    out = sample(gaussian_denoise, noise, sigma_schedule(256, CONFIG), SamplerConfig(solver="heun"))
    assert out.dtype == noise.dtype
    assert _relative_error(out, _exact_final_state(noise)) < 5e-4


def test_heun_is_much_more_accurate_than_euler(gaussian_denoise, noise):
    """At the same number of steps Heun's error is a small fraction of Euler's."""
    sigmas = sigma_schedule(64, CONFIG)
    errors = {
        solver: _relative_error(sample(gaussian_denoise, noise, sigmas, SamplerConfig(solver=solver)), _exact_final_state(noise))
        for solver in ("heun", "euler")
    }
    assert errors["heun"] < 0.1 * errors["euler"]


@pytest.mark.parametrize("solver, order", [("heun", 2), ("euler", 1)])
def test_sampler_convergence_order(gaussian_denoise, noise, solver, order):
    """Doubling the steps divides the error by about 2^order."""
    errors = [
        _relative_error(sample(gaussian_denoise, noise, sigma_schedule(steps, CONFIG), SamplerConfig(solver=solver)), _exact_final_state(noise))
        for steps in (64, 128)
    ]
    assert errors[0] / errors[1] == pytest.approx(2**order, rel=0.2)


def test_sample_trajectory_follows_exact_solution(gaussian_denoise, noise):
    """The trajectory has shape (steps + 1, ...), starts at sigma_max * noise and tracks x(sigma)."""
    steps = 128
    sigmas = sigma_schedule(steps, CONFIG)
    out, trajectory = sample(gaussian_denoise, noise, sigmas, SamplerConfig(), return_trajectory=True)
    assert trajectory.shape == (steps + 1, *noise.shape)
    torch.testing.assert_close(trajectory[0], noise * CONFIG.sigma_max)
    torch.testing.assert_close(trajectory[-1], out)
    scale = torch.sqrt(sigmas**2 + SIGMA_DATA**2) / math.sqrt(CONFIG.sigma_max**2 + SIGMA_DATA**2)
    exact = noise * CONFIG.sigma_max * scale.reshape(-1, 1, 1)
    assert _relative_error(trajectory, exact) < 2e-3


def test_stochastic_sampler_runs_and_is_reproducible(gaussian_denoise, noise):
    """With churn the output is finite, differs from the deterministic one and repeats under the same seed."""
    sigmas = sigma_schedule(32, CONFIG)
    churn = SamplerConfig(s_churn=40.0, s_tmin=0.05, s_tmax=50.0)
    first, second = (sample(gaussian_denoise, noise, sigmas, churn, generator=torch.Generator().manual_seed(1)) for _ in range(2))
    assert torch.isfinite(first).all()
    torch.testing.assert_close(first, second)
    assert not torch.allclose(first, sample(gaussian_denoise, noise, sigmas))


def test_stochastic_sampler_keeps_gaussian_data_distribution(gaussian_denoise, generator):
    """With the exact denoiser and enough steps, churned samples have standard deviation sigma_data."""
    noise = torch.randn(4000, 2, dtype=torch.float64, generator=generator)
    out = sample(gaussian_denoise, noise, sigma_schedule(128, CONFIG), SamplerConfig(s_churn=20.0), generator=generator)
    assert out.std().item() == pytest.approx(SIGMA_DATA, rel=0.03)


def test_unknown_solver_raises():
    with pytest.raises(ValueError, match="unknown solver"):
        SamplerConfig(solver="rk4")
