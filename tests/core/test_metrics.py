"""ODE curvature, denoiser Jacobian norm and exact 2-Wasserstein distance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from disco_dock.core.metrics import jacobian_frobenius_sq, ode_curvature, wasserstein2
from tests.support.denoisers import SIGMA_DATA

# ---------------------------------------------------------------- Wasserstein-2


@pytest.fixture
def points() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(50, 3))


def test_wasserstein2_of_set_with_itself_is_zero(points):
    """Also when one copy is shuffled: the optimal assignment undoes the permutation."""
    shuffled = points[np.random.default_rng(1).permutation(len(points))]
    assert wasserstein2(points, points) == pytest.approx(0.0, abs=1e-12)
    assert wasserstein2(points, shuffled) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("translation", [[1.0, 0.0, 0.0], [0.3, -2.0, 0.5], [10.0, 10.0, 10.0]])
def test_wasserstein2_of_translated_copy_is_translation_length(points, translation):
    """W2(a, a + v) = ||v||: every permutation costs sum ||a_i - a_pi(i)||^2 + n ||v||^2."""
    translation = np.asarray(translation)
    assert wasserstein2(points, points + translation) == pytest.approx(np.linalg.norm(translation), rel=1e-9)


def test_wasserstein2_accepts_tensors_and_flattens_samples():
    """Torch tensors of shape (n, ...) are compared as flattened points."""
    a = torch.zeros(4, 2, 2, dtype=torch.float64)
    assert wasserstein2(a, a + 0.5) == pytest.approx(1.0)


def test_wasserstein2_shape_mismatch_raises(points):
    with pytest.raises(ValueError, match="equal shapes"):
        wasserstein2(points, points[:-1])


# ---------------------------------------------------------------- ODE curvature


@pytest.mark.parametrize("t", [0.1, 1.0, 20.0])
def test_ode_curvature_is_zero_for_straight_trajectories(t, generator):
    """D = c constant gives dx/dt = (x - c)/t, so x - c is proportional to t and d^2x/dt^2 = 0."""
    center = torch.randn(1, 5, dtype=torch.float64, generator=generator)
    x = torch.randn(8, 5, dtype=torch.float64, generator=generator)
    curvature = ode_curvature(lambda x, sigma: center.expand_as(x), x, t)
    assert curvature.shape == (8,)
    torch.testing.assert_close(curvature, torch.zeros(8, dtype=torch.float64), atol=1e-6, rtol=0)


@pytest.mark.parametrize("t", [0.3, 1.0, 4.0])
def test_ode_curvature_of_gaussian_data_matches_analytic(gaussian_denoise, t, generator):
    """For Gaussian data x(t) is proportional to sqrt(t^2 + s^2), so ||x''|| = ||x|| s^2 / (t^2 + s^2)^2."""
    x = torch.randn(8, 5, dtype=torch.float64, generator=generator)
    expected = x.norm(dim=1) * SIGMA_DATA**2 / (t**2 + SIGMA_DATA**2) ** 2
    torch.testing.assert_close(ode_curvature(gaussian_denoise, x, t), expected, rtol=1e-2, atol=0)


# ---------------------------------------------------------------- Jacobian norm


@pytest.fixture
def linear_map(generator) -> torch.Tensor:
    return torch.randn(6, 6, dtype=torch.float64, generator=generator)


def _linear_denoise(matrix: torch.Tensor):
    """D(x; sigma) = A x, independent of sigma."""
    return lambda x, sigma: x @ matrix.T


def test_jacobian_frobenius_exact_for_linear_denoiser(linear_map, generator):
    """Differentiating along every coordinate gives ||A||_F^2 for every sample."""
    x = torch.randn(4, 6, dtype=torch.float64, generator=generator)
    result = jacobian_frobenius_sq(_linear_denoise(linear_map), x, t=1.0)
    torch.testing.assert_close(result, linear_map.pow(2).sum().expand(4), rtol=1e-8, atol=0)


def test_jacobian_frobenius_probes_estimate_linear_denoiser(linear_map, generator):
    """Random probes give an unbiased estimate E||A u||^2 = ||A||_F^2."""
    x = torch.randn(3, 6, dtype=torch.float64, generator=generator)
    result = jacobian_frobenius_sq(_linear_denoise(linear_map), x, t=1.0, num_probes=4000, generator=generator)
    torch.testing.assert_close(result, linear_map.pow(2).sum().expand(3), rtol=0.1, atol=0)


def test_jacobian_frobenius_of_multidimensional_samples(gaussian_denoise, generator):
    """Samples of shape (B, C, L) are handled; the Gaussian denoiser's Jacobian is a scaled identity."""
    x = torch.randn(2, 3, 4, dtype=torch.float64, generator=generator)
    t = 0.7
    scale = SIGMA_DATA**2 / (t**2 + SIGMA_DATA**2)
    expected = torch.full((2,), 12 * scale**2, dtype=torch.float64)
    torch.testing.assert_close(jacobian_frobenius_sq(gaussian_denoise, x, t), expected)
