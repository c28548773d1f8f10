"""Helpers shared by the SO(3) and torus modules: dtypes and interpolation on log-spaced grids."""

from __future__ import annotations

import math

import torch


def floating_dtype(x: torch.Tensor) -> torch.dtype:
    """`x`'s dtype if floating point, else the default floating dtype."""
    return x.dtype if x.is_floating_point() else torch.get_default_dtype()


def log_grid_position(value: torch.Tensor, start: float, stop: float, num: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Where `value` falls on `num` log-spaced nodes from `start` to `stop`.

    Returns the lower node's index (long, in [0, num - 2]) and the fraction (in [0, 1]) of the
    way to the next node, measured in log(value); values outside the grid are clamped to its ends.
    """
    step = (math.log(stop) - math.log(start)) / (num - 1)
    position = ((value.log() - math.log(start)) / step).clamp(0, num - 1)
    lower = position.floor().long().clamp(max=num - 2)
    return lower, position - lower


def interpolate(table: torch.Tensor, lower: torch.Tensor, fraction: torch.Tensor) -> torch.Tensor:
    """Linear interpolation of a 1-D `table` at positions given by `log_grid_position`."""
    return torch.lerp(table[lower], table[lower + 1], fraction.to(table.dtype))
