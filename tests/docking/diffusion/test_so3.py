"""IGSO3: closed form against the series, normalisation, scores against finite differences,
sampling against the density, expected score norms against Monte Carlo, and the table cache."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from disco_dock.docking.diffusion import so3
from disco_dock.docking.diffusion.so3 import (
    IGSO3Tables,
    build_igso3_tables,
    cache_dir,
    igso3_angle_log_density,
    igso3_log_expansion,
    igso3_log_expansion_series,
    igso3_log_expansion_small_eps,
    igso3_score,
    igso3_score_norm_sq,
    load_igso3_tables,
    sample_igso3,
)


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> IGSO3Tables:
    """The default tables, built into a temporary cache."""
    return load_igso3_tables(directory=tmp_path_factory.mktemp("igso3"))


def angle_cdf(eps: float) -> tuple[np.ndarray, np.ndarray]:
    """A fine-grid CDF of the exact angle density (independent of the tables)."""
    omega = torch.linspace(0, math.pi, 40001, dtype=torch.float64)
    pdf = torch.cat([torch.zeros(1, dtype=torch.float64), igso3_angle_log_density(omega[1:], eps).exp()])
    cdf = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumulative_trapezoid(pdf, omega)])
    return omega.numpy(), cdf.numpy()


@pytest.mark.parametrize("eps", [0.05, 0.2, 0.5, 0.8, 1.0, 1.5])
def test_small_eps_form_matches_series(eps: float) -> None:
    omega = torch.linspace(1e-3, math.pi, 500, dtype=torch.float64)
    closed_f, closed_slope = igso3_log_expansion_small_eps(omega, eps)
    series_f, series_slope = igso3_log_expansion_series(omega, eps)
    valid = closed_f > closed_f.max() - 15  # the series loses the far tail to cancellation
    assert valid.sum() > 20
    torch.testing.assert_close(series_f[valid], closed_f[valid], rtol=0, atol=1e-6)
    scale = closed_slope[valid].abs().max()
    torch.testing.assert_close(series_slope[valid] / scale, closed_slope[valid] / scale, rtol=0, atol=1e-6)


@pytest.mark.parametrize("eps", [0.01, 0.1, 0.99, 1.0, 2.0])
def test_angle_density_is_normalised(eps: float) -> None:
    _, cdf = angle_cdf(eps)
    assert cdf[-1] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("eps", [0.03, 0.3, 0.9, 1.2, 1.55])
def test_scores_match_finite_differences(eps: float) -> None:
    omega = torch.linspace(0.05, 3.0, 30, dtype=torch.float64)
    omega = omega[igso3_angle_log_density(omega, eps) > -30]  # away from the underflowing tail
    _, slope = igso3_log_expansion(omega, eps)
    h = 1e-6
    numeric = (igso3_log_expansion(omega + h, eps)[0] - igso3_log_expansion(omega - h, eps)[0]) / (2 * h)
    torch.testing.assert_close(slope, numeric, rtol=1e-5, atol=1e-5 * slope.abs().max().item())

    rotvec = torch.randn(len(omega), 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    rotvec = rotvec / rotvec.norm(dim=-1, keepdim=True) * omega[:, None]
    def log_f(r: torch.Tensor) -> torch.Tensor:
        return igso3_log_expansion(r.norm(dim=-1), eps)[0]

    steps = h * torch.eye(3, dtype=torch.float64)
    gradient = torch.stack([(log_f(rotvec + step) - log_f(rotvec - step)) / (2 * h) for step in steps], dim=-1)
    score = igso3_score(rotvec, eps)
    torch.testing.assert_close(score, gradient, rtol=1e-5, atol=1e-5 * score.abs().max().item())


def test_score_near_identity() -> None:
    rotvec = torch.tensor([[0.0, 0.0, 0.0], [1e-7, 0.0, 0.0], [0.0, 2e-5, 0.0]], dtype=torch.float64)
    score = igso3_score(rotvec, 0.5)
    assert torch.isfinite(score).all()
    assert score[0].abs().max() == 0
    # d log f / dw ~ -w / eps^2 near 0 (the Gaussian limit), so the score is ~ -r / eps^2
    torch.testing.assert_close(score[1:], -rotvec[1:] / 0.25, rtol=0.05, atol=0)


@pytest.mark.parametrize("eps", [0.01, 0.05, 0.3, 0.77, 1.3, 1.95])
def test_sampled_angles_follow_the_density(tables: IGSO3Tables, eps: float) -> None:
    angles = tables.sample_angle(torch.full((20000,), eps, dtype=torch.float64), torch.Generator().manual_seed(1)).numpy()
    omega, cdf = angle_cdf(eps)
    result = stats.kstest(angles, lambda x: np.interp(x, omega, cdf))
    assert result.statistic < 0.012, result  # KS 1% critical value at n = 20000 is 0.0115


def test_sample_mixed_eps_and_axes(tables: IGSO3Tables, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(so3, "igso3_tables", lambda device="cpu": tables)
    eps = torch.tensor([0.1, 1.0]).repeat(20000)
    rotvec = sample_igso3(eps, torch.Generator().manual_seed(2))
    assert rotvec.shape == (40000, 3) and rotvec.dtype == torch.float32
    for value in (0.1, 1.0):
        omega, cdf = angle_cdf(value)
        angles = rotvec[eps == value].norm(dim=-1).double().numpy()
        assert stats.kstest(angles, lambda x: np.interp(x, omega, cdf)).statistic < 0.012
    axes = rotvec / rotvec.norm(dim=-1, keepdim=True)
    assert axes.mean(dim=0).abs().max() < 0.02  # uniform directions
    torch.testing.assert_close((axes**2).mean(dim=0), torch.full((3,), 1 / 3), atol=0.01, rtol=0)


@pytest.mark.parametrize("eps", [0.03, 0.3, 1.0, 1.55])
def test_expected_score_norm_matches_monte_carlo(tables: IGSO3Tables, eps: float) -> None:
    generator = torch.Generator().manual_seed(3)
    angles = tables.sample_angle(torch.full((50000,), eps, dtype=torch.float64), generator)
    axes = torch.nn.functional.normalize(torch.randn(50000, 3, dtype=torch.float64, generator=generator), dim=-1)
    rotvec = axes * angles[:, None]
    monte_carlo = (igso3_score(rotvec, eps) ** 2).sum(-1).mean()
    expected = tables.expected_score_norm_sq(torch.tensor(eps))
    assert float(expected) == pytest.approx(float(monte_carlo), rel=0.03)


def test_expected_score_norm_small_eps_limit(tables: IGSO3Tables) -> None:
    eps = torch.tensor([0.01, 0.02])
    torch.testing.assert_close(tables.expected_score_norm_sq(eps).float(), 3 / eps**2, rtol=0.01, atol=0)


def test_tables_build_fast_and_cache_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCO_DOCK_CACHE", str(tmp_path / "cache"))
    assert cache_dir() == tmp_path / "cache"
    start = time.perf_counter()
    built = load_igso3_tables()
    assert time.perf_counter() - start < 5.0
    (path,) = (tmp_path / "cache").glob("igso3_*.npz")
    assert not list((tmp_path / "cache").glob("*.tmp"))

    def no_build(*args: object) -> IGSO3Tables:
        raise AssertionError("rebuilt although cached")

    monkeypatch.setattr(so3, "build_igso3_tables", no_build)
    loaded = load_igso3_tables()
    for name in ("eps", "omega", "cdf", "score_norm_sq"):
        assert torch.equal(getattr(loaded, name), getattr(built, name))

    monkeypatch.setattr(so3, "build_igso3_tables", build_igso3_tables)
    path.write_bytes(b"not an npz")
    rebuilt = load_igso3_tables()
    assert torch.equal(rebuilt.cdf, built.cdf)
    assert path.stat().st_size > 1000  # replaced by a good file

    small = load_igso3_tables(num_eps=20, num_omega=50)  # another grid, another file
    assert small.cdf.shape == (20, 51) and len(list((tmp_path / "cache").glob("igso3_*.npz"))) == 2


def test_cache_dir_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DISCO_DOCK_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "disco-dock"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "disco-dock"


def test_default_tables_via_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCO_DOCK_CACHE", str(tmp_path))
    so3.igso3_tables.cache_clear()
    try:
        norms = igso3_score_norm_sq(torch.tensor([0.1, 1.0]))
        assert norms.shape == (2,) and list(tmp_path.glob("igso3_*.npz"))
    finally:
        so3.igso3_tables.cache_clear()
