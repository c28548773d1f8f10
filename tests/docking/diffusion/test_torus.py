"""Wrapped normal on the circle: density, score against finite differences, sampling against
the density, and the expected squared score against Monte Carlo and its limits."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from disco_dock.docking.diffusion.torus import (
    sample_wrapped_normal,
    wrap_angle,
    wrapped_normal_log_density,
    wrapped_normal_score,
    wrapped_normal_score_norm_sq,
)

SIGMAS = [0.0314, 0.3, 1.0, 2.0, 3.14]


def test_wrap_angle() -> None:
    x = torch.tensor([0.0, math.pi, -math.pi, 3 * math.pi / 2, -7.0, 100.0], dtype=torch.float64)
    wrapped = wrap_angle(x)
    assert ((wrapped >= -math.pi) & (wrapped < math.pi)).all()
    torch.testing.assert_close(torch.sin(wrapped), torch.sin(x))
    torch.testing.assert_close(torch.cos(wrapped), torch.cos(x))


@pytest.mark.parametrize("sigma", SIGMAS)
def test_density_is_normalised_and_periodic(sigma: float) -> None:
    x = torch.linspace(-math.pi, math.pi, 20001, dtype=torch.float64)
    density = wrapped_normal_log_density(x, sigma).exp()
    assert float(torch.trapezoid(density, x)) == pytest.approx(1.0, abs=1e-6)
    torch.testing.assert_close(wrapped_normal_log_density(x + 2 * math.pi, sigma), wrapped_normal_log_density(x, sigma))


def test_density_limits() -> None:
    x = torch.linspace(-0.1, 0.1, 11, dtype=torch.float64)
    normal = -(x**2) / (2 * 0.02**2) - math.log(0.02 * math.sqrt(2 * math.pi))
    torch.testing.assert_close(wrapped_normal_log_density(x, 0.02), normal)  # no wrapping at small sigma
    uniform = torch.full_like(x, -math.log(2 * math.pi))
    torch.testing.assert_close(wrapped_normal_log_density(x, 6.0), uniform, atol=1e-6, rtol=0)


@pytest.mark.parametrize("sigma", SIGMAS)
def test_score_matches_finite_differences(sigma: float) -> None:
    x = torch.linspace(-math.pi, math.pi, 41, dtype=torch.float64)[1:-1]
    x = x[wrapped_normal_log_density(x, sigma) > -200]  # not where the density underflows
    h = 1e-6
    numeric = (wrapped_normal_log_density(x + h, sigma) - wrapped_normal_log_density(x - h, sigma)) / (2 * h)
    score = wrapped_normal_score(x, sigma)
    torch.testing.assert_close(score, numeric, rtol=1e-5, atol=1e-6 * score.abs().max().item())


def test_score_broadcasts_and_keeps_dtype() -> None:
    x = torch.zeros(4, 3)
    sigma = torch.tensor([0.1, 0.5, 1.0])
    score = wrapped_normal_score(x + 0.2, sigma)
    assert score.shape == (4, 3) and score.dtype == torch.float32
    assert (score < 0).all()  # points back towards 0


@pytest.mark.parametrize("sigma", [0.05, 0.7, 1.5, 3.14])
def test_samples_follow_the_density(sigma: float) -> None:
    samples = sample_wrapped_normal(torch.full((20000,), sigma, dtype=torch.float64), torch.Generator().manual_seed(0))
    assert ((samples >= -math.pi) & (samples < math.pi)).all()
    x = torch.linspace(-math.pi, math.pi, 20001, dtype=torch.float64)
    density = wrapped_normal_log_density(x, sigma).exp()
    cdf = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumulative_trapezoid(density, x)])
    result = stats.kstest(samples.numpy(), lambda v: np.interp(v, x.numpy(), cdf.numpy()))
    assert result.statistic < 0.012, result  # KS 1% critical value at n = 20000 is 0.0115


@pytest.mark.parametrize("sigma", SIGMAS)
def test_expected_score_norm_matches_monte_carlo(sigma: float) -> None:
    samples = sample_wrapped_normal(torch.full((100000,), sigma, dtype=torch.float64), torch.Generator().manual_seed(1))
    monte_carlo = float((wrapped_normal_score(samples, sigma) ** 2).mean())
    assert float(wrapped_normal_score_norm_sq(torch.tensor(sigma))) == pytest.approx(monte_carlo, rel=0.03)


def test_expected_score_norm_limits() -> None:
    small = torch.tensor([1e-4, 1e-3, 0.01, 0.1], dtype=torch.float64)
    torch.testing.assert_close(wrapped_normal_score_norm_sq(small), 1 / small**2, rtol=1e-4, atol=0)
    large = torch.tensor([3.5, 4.5], dtype=torch.float64)  # p ~ (1 + 2 e^(-s^2/2) cos x) / 2pi
    torch.testing.assert_close(wrapped_normal_score_norm_sq(large), 2 * torch.exp(-(large**2)), rtol=1e-3, atol=0)
