"""Geometric noise schedules of the pose diffusion (DiffDock-S values) and their SDE coefficients."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeVar

import torch

from disco_dock.core.config import Settings

Time = TypeVar("Time", float, torch.Tensor)


@dataclass(frozen=True)
class NoiseSchedule(Settings):
    """sigma(t) = sigma_min^(1 - t) * sigma_max^t for diffusion time t in [0, 1]."""

    sigma_min: float
    sigma_max: float

    def sigma(self, t: Time) -> Time:
        """The noise scale at time `t` (float or tensor)."""
        return self.sigma_min ** (1 - t) * self.sigma_max**t

    def g_squared(self, t: Time) -> Time:
        """g(t)^2 = d sigma^2 / dt = 2 sigma(t)^2 log(sigma_max / sigma_min), the reverse SDE's diffusion."""
        return 2 * self.sigma(t) ** 2 * math.log(self.sigma_max / self.sigma_min)


@dataclass(frozen=True)
class PoseNoiseSchedules(Settings):
    """Schedules of the three pose components: translation (A), rotation and torsion (rad)."""

    translation: NoiseSchedule = NoiseSchedule(0.1, 19.0)
    rotation: NoiseSchedule = NoiseSchedule(0.03, 1.55)
    torsion: NoiseSchedule = NoiseSchedule(0.0314, 3.14)

    def sigmas(self, t: Time) -> tuple[Time, Time, Time]:
        """(translation, rotation, torsion) noise scales at time `t`."""
        return self.translation.sigma(t), self.rotation.sigma(t), self.torsion.sigma(t)
