"""The isotropic Gaussian on SO(3) (IGSO3) and axis-angle rotation vectors.

IGSO3 with scale `eps` (as in DiffDock, after Leach et al. 2022 and Nikolayev & Savyolova 1997)
has, with respect to the Haar measure, the density f(w) of the rotation angle w alone:

    f(w) = sum_l (2l + 1) exp(-l (l + 1) eps^2 / 2) sin((l + 1/2) w) / sin(w / 2),

and the angle of a sample has density p(w) = (1 - cos w) / pi * f(w) on [0, pi]. The series
converges slowly for small eps; there, summing it by Poisson's formula gives, with
t = eps^2 / 2, the closed form (images k = -1, 0, 1 of the exact sum over all k)

    f(w) = sqrt(pi) t^(-3/2) e^(t/4) e^(-w^2 / 4t)
           * [w + (2pi - w) e^(-(pi^2 - pi w)/t) - (w + 2pi) e^(-(pi^2 + pi w)/t)] / (2 sin(w/2)),

whose neglected terms are below 1e-17 relative for eps < 1 (`SMALL_EPS`); the series, above it,
needs only a dozen terms. The score of a rotation vector r = w * axis is (d log f / dw) * axis.

Sampling inverts tabulated angle CDFs; the tables (a log-spaced eps grid, an angle grid denser
near 0) take well under a second to build and are cached as an .npz in `cache_dir()`.
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from disco_dock.core.files import replacing
from disco_dock.docking.diffusion._common import floating_dtype, interpolate, log_grid_position

SMALL_EPS = 1.0
"""Below this eps, `igso3_log_expansion` uses the closed form; from it on, the series."""
EPS_MIN, EPS_MAX = 0.01, 2.0
"""Range of the tabulated eps grid (rad); eps outside it is clamped by the table look-ups."""
NUM_EPS, NUM_OMEGA = 1000, 2000
"""Default number of eps values and of angle intervals in the tables."""
TABLE_FORMAT = 1
"""Version of the cached table layout; part of the file name."""
CACHE_ENV = "DISCO_DOCK_CACHE"
"""Environment variable naming the cache directory, overriding the default."""
_SERIES_LOG_CUTOFF = 80.0  # series terms with exp(-l(l+1)t) < e^-80 are left out
_MIN_ANGLE = 1e-4  # below this angle the score is taken as linear in the rotation vector
_TABLE_FIELDS = ("eps", "omega", "cdf", "score_norm_sq")


def _float64(*tensors: torch.Tensor | float) -> tuple[list[torch.Tensor], torch.dtype]:
    """The arguments broadcast together as float64 tensors, and the floating dtype to return."""
    as_tensors = [torch.as_tensor(x) for x in tensors]
    dtype = torch.result_type(*as_tensors)
    dtype = dtype if dtype.is_floating_point else torch.get_default_dtype()
    return [x.to(torch.float64) for x in torch.broadcast_tensors(*as_tensors)], dtype


def igso3_log_expansion_series(omega: torch.Tensor, eps: torch.Tensor | float) -> tuple[torch.Tensor, torch.Tensor]:
    """log f(w) and d log f / dw from the series, broadcast over `omega` in (0, pi] and `eps`.

    Takes every term above e^-80 (about 9 / eps terms): accurate for any eps, but slow and
    memory-hungry for small eps, where f's tail also underflows; see `igso3_log_expansion`.
    """
    (w, eps_), dtype = _float64(omega, eps)
    t = eps_**2 / 2
    terms = int(math.sqrt(_SERIES_LOG_CUTOFF / float(t.min()))) + 2
    degree = torch.arange(terms, dtype=torch.float64)
    weight = (2 * degree + 1) * torch.exp(-degree * (degree + 1) * t[..., None])
    half = degree + 0.5
    high, high_slope = torch.sin(half * w[..., None]), half * torch.cos(half * w[..., None])
    low, low_slope = torch.sin(w / 2)[..., None], 0.5 * torch.cos(w / 2)[..., None]
    f = (weight * high).sum(-1) / low[..., 0]
    f_slope = (weight * (high_slope * low - high * low_slope)).sum(-1) / low[..., 0] ** 2
    return f.log().to(dtype), (f_slope / f).to(dtype)


def igso3_log_expansion_small_eps(omega: torch.Tensor, eps: torch.Tensor | float) -> tuple[torch.Tensor, torch.Tensor]:
    """log f(w) and d log f / dw from the small-eps closed form (module docstring), in log space.

    Exact to double precision for eps < 1; broadcast over `omega` in (0, pi] and `eps`.
    """
    (w, eps_), dtype = _float64(omega, eps)
    t = eps_**2 / 2
    pi = math.pi
    near = torch.exp(-(pi**2 - pi * w) / t)  # images at k = +1 and k = -1, relative to k = 0
    far = torch.exp(-(pi**2 + pi * w) / t)
    bracket = w + (2 * pi - w) * near - (w + 2 * pi) * far
    bracket_slope = 1 - near - far + (pi / t) * ((2 * pi - w) * near + (w + 2 * pi) * far)
    log_f = 0.5 * math.log(pi) - 1.5 * t.log() + t / 4 - w**2 / (4 * t) + bracket.log() - (2 * torch.sin(w / 2)).log()
    d_log_f = -w / (2 * t) + bracket_slope / bracket - 0.5 / torch.tan(w / 2)
    return log_f.to(dtype), d_log_f.to(dtype)


def igso3_log_expansion(omega: torch.Tensor, eps: torch.Tensor | float) -> tuple[torch.Tensor, torch.Tensor]:
    """log f(w) and its derivative d log f / dw (the angle score), for any eps; broadcast.

    The closed form below `SMALL_EPS`, the series (a dozen terms) from it on.
    """
    (w, eps_), dtype = _float64(omega, eps)
    large = eps_ >= SMALL_EPS
    log_f, d_log_f = igso3_log_expansion_small_eps(w, eps_.clamp(max=SMALL_EPS))
    if large.any():
        log_f[large], d_log_f[large] = igso3_log_expansion_series(w[large], eps_[large])
    return log_f.to(dtype), d_log_f.to(dtype)


def _log_haar_angle_density(omega: torch.Tensor) -> torch.Tensor:
    """log((1 - cos w) / pi), the density of the angle of a uniformly random rotation."""
    return (2 * torch.sin(omega / 2) ** 2 / math.pi).log()


def igso3_angle_log_density(omega: torch.Tensor, eps: torch.Tensor | float) -> torch.Tensor:
    """log p(w), p(w) = (1 - cos w) / pi * f(w) being the density of a sample's angle on [0, pi]."""
    log_f, _ = igso3_log_expansion(omega, eps)
    return _log_haar_angle_density(torch.as_tensor(omega, dtype=log_f.dtype)) + log_f


def igso3_score(rotvec: torch.Tensor, eps: torch.Tensor | float) -> torch.Tensor:
    """Score of IGSO3 at rotation vectors `rotvec` (..., 3): (d log f / dw)(|r|) * r / |r|.

    `eps` broadcasts with `rotvec[..., 0]`; the score is 0 at the identity.
    """
    angle = rotvec.norm(dim=-1).clamp_min(_MIN_ANGLE)  # d log f / dw is linear in w near 0
    _, d_log_f = igso3_log_expansion(angle, eps)
    return rotvec * (d_log_f / angle).to(rotvec.dtype)[..., None]


@dataclass(frozen=True, eq=False)
class IGSO3Tables:
    """Tabulated IGSO3 angle CDFs and expected squared score norms over a log-spaced eps grid."""

    eps: torch.Tensor  # (E,) log-spaced from eps[0] to eps[-1]
    omega: torch.Tensor  # (M,) angles from 0 to pi, denser near 0
    cdf: torch.Tensor  # (E, M) P(angle <= omega) for each eps
    score_norm_sq: torch.Tensor  # (E,) E|score|^2 for each eps

    def to(self, device: torch.device | str) -> IGSO3Tables:
        """The tables on `device`."""
        return IGSO3Tables(*(getattr(self, name).to(device) for name in _TABLE_FIELDS))

    @functools.cached_property
    def _stacked_cdf(self) -> torch.Tensor:
        """All CDF rows in one increasing sequence, row i shifted by i (for one searchsorted)."""
        rows = torch.arange(self.cdf.shape[0], dtype=self.cdf.dtype, device=self.cdf.device)
        return (self.cdf + rows[:, None]).flatten()

    def _position(self, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Lower eps-grid row and fraction to the next, for each of `eps`."""
        eps = torch.as_tensor(eps).to(self.eps)
        return log_grid_position(eps, float(self.eps[0]), float(self.eps[-1]), len(self.eps))

    def _quantile(self, row: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Angles at which the CDFs of eps-grid rows `row` reach `u` in [0, 1), linearly interpolated."""
        size = self.omega.shape[0]
        upper = torch.searchsorted(self._stacked_cdf, row + u) - row * size
        upper = upper.clamp(1, size - 1)
        lower = upper - 1
        cdf_low, cdf_high = self.cdf[row, lower], self.cdf[row, upper]
        fraction = ((u - cdf_low) / (cdf_high - cdf_low).clamp_min(1e-300)).clamp(0, 1)
        return torch.lerp(self.omega[lower], self.omega[upper], fraction)

    def sample_angle(self, eps: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Rotation angles of IGSO3 samples, one per element of `eps` (inverse-CDF sampling).

        Between grid nodes the two neighbouring quantile functions are interpolated in log eps.
        """
        lower, fraction = self._position(eps)
        u = torch.rand(lower.shape, generator=generator, dtype=self.cdf.dtype, device=self.cdf.device)
        return torch.lerp(self._quantile(lower, u), self._quantile(lower + 1, u), fraction)

    def expected_score_norm_sq(self, eps: torch.Tensor) -> torch.Tensor:
        """E|score|^2 under IGSO3(eps), interpolated (log-log) in the table."""
        lower, fraction = self._position(eps)
        return interpolate(self.score_norm_sq.log(), lower, fraction).exp()


def build_igso3_tables(
    eps_min: float = EPS_MIN, eps_max: float = EPS_MAX, num_eps: int = NUM_EPS, num_omega: int = NUM_OMEGA
) -> IGSO3Tables:
    """Compute the IGSO3 tables (float64, vectorised; well under a second for the defaults).

    Angles omega_i = pi (i / num_omega)^2 resolve the narrow densities of small eps; CDFs and
    E|score|^2 = int p(w) (d log f / dw)^2 dw come from the trapezoidal rule.
    """
    eps = torch.logspace(math.log10(eps_min), math.log10(eps_max), num_eps, dtype=torch.float64)
    omega = math.pi * torch.linspace(0, 1, num_omega + 1, dtype=torch.float64) ** 2
    log_f, d_log_f = igso3_log_expansion(omega[None, 1:], eps[:, None])
    log_p = _log_haar_angle_density(omega[1:]) + log_f
    zero = torch.zeros(num_eps, 1, dtype=torch.float64)
    pdf = torch.cat([zero, log_p.exp()], dim=1)  # p(0) = 0
    cdf = torch.cat([zero, torch.cumulative_trapezoid(pdf, omega, dim=1)], dim=1)
    total = cdf[:, -1]
    score_norm_sq = torch.trapezoid(pdf * torch.cat([zero, d_log_f], dim=1) ** 2, omega, dim=1) / total
    return IGSO3Tables(eps=eps, omega=omega, cdf=cdf / total[:, None], score_norm_sq=score_norm_sq)


def cache_dir() -> Path:
    """The user cache directory: `$DISCO_DOCK_CACHE`, else `$XDG_CACHE_HOME/disco-dock`, else `~/.cache/disco-dock`."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "disco-dock"


def _read_tables(path: Path, grid: np.ndarray) -> IGSO3Tables:
    """Tables from a cache file; raises if it is missing, damaged or for another grid."""
    with np.load(path, allow_pickle=False) as content:
        if not np.array_equal(content["grid"], grid):
            raise ValueError(f"grid {content['grid']} instead of {grid}")
        tables = IGSO3Tables(*(torch.from_numpy(content[name]) for name in _TABLE_FIELDS))
    num_eps, num_omega = int(grid[2]), int(grid[3]) + 1
    shapes = (tables.eps.shape, tables.omega.shape, tables.cdf.shape, tables.score_norm_sq.shape)
    if shapes != ((num_eps,), (num_omega,), (num_eps, num_omega), (num_eps,)):
        raise ValueError("arrays of the wrong shape")
    return tables


def _write_tables(path: Path, tables: IGSO3Tables, grid: np.ndarray) -> None:
    """Write tables to `path` atomically (`core.files.replacing`)."""
    with replacing(path) as temporary, temporary.open("wb") as handle:
        np.savez(handle, grid=grid, **{name: getattr(tables, name).numpy() for name in _TABLE_FIELDS})


def load_igso3_tables(
    eps_min: float = EPS_MIN,
    eps_max: float = EPS_MAX,
    num_eps: int = NUM_EPS,
    num_omega: int = NUM_OMEGA,
    directory: str | Path | None = None,
) -> IGSO3Tables:
    """The IGSO3 tables for a grid, from `directory` (default `cache_dir()`) or built and cached there.

    The file name holds the grid parameters; a missing, damaged or mismatched file is rebuilt
    and replaced. If the directory cannot be written, the tables are only returned (a warning).
    """
    grid = np.array([eps_min, eps_max, num_eps, num_omega, TABLE_FORMAT], dtype=np.float64)
    name = f"igso3_v{TABLE_FORMAT}_eps{eps_min:g}-{eps_max:g}x{num_eps}_omega{num_omega}.npz"
    path = Path(directory or cache_dir()) / name
    try:
        return _read_tables(path, grid)
    except Exception:  # np.load raises OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError, ...
        tables = build_igso3_tables(eps_min, eps_max, num_eps, num_omega)
    try:
        _write_tables(path, tables, grid)
    except OSError as error:
        warnings.warn(f"cannot cache the IGSO3 tables at {path}: {error}", stacklevel=2)
    return tables


@functools.lru_cache(maxsize=None)
def igso3_tables(device: str = "cpu") -> IGSO3Tables:
    """The default-grid tables on `device`, loaded (or built) once per process and device."""
    return load_igso3_tables().to(device)


def sample_igso3(eps: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Rotation vectors (..., 3) of IGSO3 samples, one per element of `eps` (...): a tabulated
    angle times a uniformly random axis. eps is clamped to [EPS_MIN, EPS_MAX]."""
    eps = torch.as_tensor(eps)
    angle = igso3_tables(str(eps.device)).sample_angle(eps, generator)
    axis = torch.randn(*angle.shape, 3, generator=generator, dtype=angle.dtype, device=angle.device)
    return (axis / axis.norm(dim=-1, keepdim=True) * angle[..., None]).to(floating_dtype(eps))


def igso3_score_norm_sq(eps: torch.Tensor) -> torch.Tensor:
    """Expected squared score norm E|score|^2 under IGSO3(eps), for loss normalisation (~3 / eps^2 for small eps)."""
    eps = torch.as_tensor(eps)
    return igso3_tables(str(eps.device)).expected_score_norm_sq(eps).to(floating_dtype(eps))


#END
