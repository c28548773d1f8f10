"""Classifier-free guidance on the discrete latents."""

from __future__ import annotations

import pytest
import torch

from disco_dock.core.guidance import guide, guided_denoiser

CONDITIONAL_SHIFT, UNCONDITIONAL_SHIFT = 1.0, -1.0


class CountingDenoiser:
    """Fake denoiser: x + 1 with latents, x - 1 without; records every call's latents and conditioning."""

    def __init__(self):
        self.calls: list[tuple[object, dict]] = []

    def __call__(self, x, sigma, latents=None, **condition):
        self.calls.append((latents, condition))
        return x + (CONDITIONAL_SHIFT if latents is not None else UNCONDITIONAL_SHIFT)

    @property
    def unconditional_calls(self) -> int:
        return sum(latents is None for latents, _ in self.calls)


@pytest.mark.parametrize("scale", [-0.5, 0.0, 1.0, 3.5])
def test_guide_formula(scale, generator):
    """guide(c, u, s) = c + s (c - u)."""
    conditional, unconditional = torch.randn(2, 4, 3, generator=generator)
    torch.testing.assert_close(guide(conditional, unconditional, scale), conditional + scale * (conditional - unconditional))


def test_guide_scale_zero_is_conditional(generator):
    conditional, unconditional = torch.randn(2, 5, generator=generator)
    torch.testing.assert_close(guide(conditional, unconditional, 0.0), conditional, atol=0, rtol=0)


@pytest.mark.parametrize(
    "scale, sigma, window, guided",
    [
        (2.0, 1.0, (0.0, float("inf")), True),
        (2.0, 1.0, (0.5, 3.0), True),
        (2.0, 0.5, (0.5, 3.0), True),  # window edges are inclusive
        (2.0, 0.1, (0.5, 3.0), False),  # below the window
        (2.0, 10.0, (0.5, 3.0), False),  # above the window
        (0.0, 1.0, (0.0, float("inf")), False),  # no guidance at scale 0
    ],
)
def test_guided_denoiser_calls_unconditional_branch_only_when_guiding(scale, sigma, window, guided):
    """The unconditional branch (latents=None) runs only for scale != 0 and sigma inside the window."""
    denoiser = CountingDenoiser()
    denoise = guided_denoiser(denoiser, latents=torch.ones(2, 3), scale=scale, sigma_window=window)
    x = torch.zeros(2, 4)
    out = denoise(x, torch.full((2,), sigma))
    assert denoiser.unconditional_calls == int(guided)
    assert len(denoiser.calls) == 1 + int(guided)
    expected_shift = CONDITIONAL_SHIFT + (scale * (CONDITIONAL_SHIFT - UNCONDITIONAL_SHIFT) if guided else 0.0)
    torch.testing.assert_close(out, x + expected_shift)


def test_guided_denoiser_without_latents_never_guides():
    """With no latents to guide on, only the (already unconditional) single call is made."""
    denoiser = CountingDenoiser()
    out = guided_denoiser(denoiser, latents=None, scale=2.0)(torch.zeros(3), torch.ones(3))
    assert len(denoiser.calls) == 1
    torch.testing.assert_close(out, torch.full((3,), UNCONDITIONAL_SHIFT))


def test_guided_denoiser_passes_condition_to_both_branches():
    """Extra conditioning (labels, context) reaches the conditional and the unconditional call."""
    denoiser = CountingDenoiser()
    guided_denoiser(denoiser, latents=torch.ones(1), scale=1.0, labels="y", context="c")(torch.zeros(1), torch.ones(1))
    assert [condition for _, condition in denoiser.calls] == [{"labels": "y", "context": "c"}] * 2
