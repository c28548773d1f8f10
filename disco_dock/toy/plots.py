"""Figures of the 2D study, in the spirit of the paper's Figures 3 and 4."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from torch import Tensor  # noqa: E402

if TYPE_CHECKING:
    from disco_dock.toy.study import ToyResults, Trajectories

SHOWN_POINTS = 2000
SHOWN_TRAJECTORIES = 64


def write_figures(out: Path, data: Tensor, plain: "Trajectories", disco: "Trajectories", results: "ToyResults") -> None:
    """samples.png, trajectories.png and curvature.png in ``out``."""
    _samples(out / "samples.png", data, plain, disco)
    _trajectories(out / "trajectories.png", plain, disco)
    _curves(out / "curvature.png", results)


def _scatter_panel(ax, points: Tensor, title: str, colours=None) -> None:
    points = points[:SHOWN_POINTS]
    colours = None if colours is None else colours[:SHOWN_POINTS]
    colouring = {} if colours is None else {"c": colours, "cmap": "tab10", "vmin": 0, "vmax": 9}
    ax.scatter(points[:, 0], points[:, 1], s=2, **colouring)
    ax.set_title(title)
    ax.set_aspect("equal")
    ax.set_xlim(-4.5, 4.5)
    ax.set_ylim(-4.5, 4.5)


def _samples(path: Path, data: Tensor, plain: "Trajectories", disco: "Trajectories") -> None:
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    _scatter_panel(axes[0], data, "data")
    _scatter_panel(axes[1], plain.states[-1], "plain diffusion")
    _scatter_panel(axes[2], disco.states[-1], "DisCo-Diff (colour = latent)", disco.latents.argmax(-1).squeeze(-1))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _trajectories(path: Path, plain: "Trajectories", disco: "Trajectories") -> None:
    fig, axes = plt.subplots(1, 2, figsize=(10, 5))
    for ax, run, title in ((axes[0], plain, "plain diffusion"), (axes[1], disco, "DisCo-Diff")):
        # Show the ODE from sigma = 3 (where modes separate) down to the data.
        shown = run.sigmas <= 3.0
        paths = run.states[shown][:, :SHOWN_TRAJECTORIES]
        colours = None if run.latents is None else run.latents.argmax(-1).squeeze(-1)[:SHOWN_TRAJECTORIES]
        for i in range(paths.shape[1]):
            colour = "tab:blue" if colours is None else plt.cm.tab10(int(colours[i]))
            ax.plot(paths[:, i, 0], paths[:, i, 1], lw=0.8, color=colour, alpha=0.8)
        ax.scatter(paths[-1, :, 0], paths[-1, :, 1], s=6, c="black")
        ax.set_title(f"{title}: ODE trajectories from sigma = 3")
        ax.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _curves(path: Path, results: "ToyResults") -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric, label in (
        (axes[0], results.curvature, "ODE curvature ||d²x/dt²||"),
        (axes[1], results.jacobian_frobenius_sq, "||∂D/∂x||²_F"),
    ):
        ax.loglog(metric["t"], metric["plain"], label="plain diffusion")
        ax.loglog(metric["t"], metric["disco"], label="DisCo-Diff")
        ax.set_xlabel("t (= sigma)")
        ax.set_ylabel(label)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
