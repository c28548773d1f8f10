"""The pose noise schedules: DiffDock's defaults, their end points and g^2 = d sigma^2 / dt."""

from __future__ import annotations

import math

import pytest
import torch

from disco_dock.docking.diffusion.schedule import NoiseSchedule, PoseNoiseSchedules


def test_noise_schedules() -> None:
    schedules = PoseNoiseSchedules()
    assert schedules.translation == NoiseSchedule(0.1, 19.0)
    assert schedules.rotation == NoiseSchedule(0.03, 1.55)
    assert schedules.torsion == NoiseSchedule(0.0314, 3.14)
    for schedule in (schedules.translation, schedules.rotation, schedules.torsion):
        assert schedule.sigma(0.0) == pytest.approx(schedule.sigma_min)
        assert schedule.sigma(1.0) == pytest.approx(schedule.sigma_max)
        t = torch.linspace(0.05, 0.95, 10, dtype=torch.float64)
        h = 1e-6
        numeric = (schedule.sigma(t + h) ** 2 - schedule.sigma(t - h) ** 2) / (2 * h)
        torch.testing.assert_close(schedule.g_squared(t), numeric, rtol=1e-6, atol=0)
    _, rotation, _ = schedules.sigmas(torch.tensor([0.5]))
    assert float(rotation) == pytest.approx(math.sqrt(0.03 * 1.55))
