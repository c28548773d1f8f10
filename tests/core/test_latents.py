"""Straight-through Gumbel-softmax (dense and segment-wise), latent dropout and the latent embedding."""

from __future__ import annotations

import pytest
import torch

from disco_dock.core.latents import (
    LatentEmbedding,
    drop_latents,
    gumbel_softmax_st,
    segment_argmax_one_hot,
    segment_gumbel_softmax_st,
    segment_softmax,
)

LOGITS = torch.tensor([1.0, -0.5, 0.3, 2.0, -1.0])
SEGMENT_SIZES = (1, 3, 5)


def _segment_index(sizes: tuple[int, ...]) -> torch.Tensor:
    """Segment id of every row for consecutive segments of the given sizes."""
    return torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))


def _per_segment_sum(values: torch.Tensor, segment: torch.Tensor, num_segments: int) -> torch.Tensor:
    return values.new_zeros(num_segments, values.shape[1]).index_add(0, segment, values)


# ---------------------------------------------------------------- dense Gumbel-softmax


@pytest.mark.parametrize("tau", [0.1, 1.0, 5.0])
def test_gumbel_softmax_forward_is_exactly_one_hot(tau, generator):
    """Every sample is a 0/1 vector with a single 1, whatever the temperature."""
    logits = torch.randn(64, 3, 7, generator=generator)
    sample = gumbel_softmax_st(logits, tau=tau, generator=generator)
    assert sample.shape == logits.shape
    assert torch.all((sample == 0) | (sample == 1))
    assert torch.all(sample.sum(-1) == 1)


def test_gumbel_softmax_gradient_reaches_logits(generator):
    """The straight-through estimator passes a non-zero gradient to the logits."""
    logits = torch.randn(8, 5, generator=generator, requires_grad=True)
    weights = torch.randn(8, 5, generator=generator)
    (gumbel_softmax_st(logits, generator=generator) * weights).sum().backward()
    assert logits.grad is not None
    assert torch.isfinite(logits.grad).all()
    assert logits.grad.abs().sum() > 0


def test_gumbel_softmax_frequencies_match_softmax(generator):
    """Class frequencies over many samples match softmax(logits)."""
    samples = gumbel_softmax_st(LOGITS.expand(40_000, -1), generator=generator)
    frequencies = samples.mean(0)
    torch.testing.assert_close(frequencies, torch.softmax(LOGITS, -1), atol=0.01, rtol=0)


def test_gumbel_softmax_temperature_leaves_forward_unchanged():
    """With the same noise, the hard sample does not depend on tau (only the backward pass does)."""
    logits = LOGITS.expand(1000, -1)
    samples = [gumbel_softmax_st(logits, tau=tau, generator=torch.Generator().manual_seed(3)) for tau in (1.0, 0.05)]
    torch.testing.assert_close(samples[0], samples[1], atol=0, rtol=0)


# ---------------------------------------------------------------- segment-wise version


def test_segment_softmax_matches_dense_softmax_per_segment(generator):
    """Within every segment and column, segment_softmax equals an ordinary softmax over that segment."""
    segment = _segment_index(SEGMENT_SIZES)
    values = torch.randn(len(segment), 4, generator=generator) * 3
    probabilities = segment_softmax(values, segment, len(SEGMENT_SIZES))
    for index in range(len(SEGMENT_SIZES)):
        rows = segment == index
        torch.testing.assert_close(probabilities[rows], torch.softmax(values[rows], dim=0))


def test_segment_argmax_one_hot_marks_first_maximum():
    """The 1 sits on the largest row of each segment, the first one on ties."""
    segment = torch.tensor([0, 0, 0, 1, 1])
    values = torch.tensor([[1.0, 2.0], [3.0, 2.0], [0.0, 1.0], [5.0, -1.0], [4.0, -1.0]])
    expected = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    torch.testing.assert_close(segment_argmax_one_hot(values, segment, 2), expected, atol=0, rtol=0)


@pytest.mark.parametrize("tau", [0.1, 1.0])
def test_segment_gumbel_softmax_is_one_hot_per_segment_and_column(tau, generator):
    """Exactly one 1 per segment and column, for segments of different sizes."""
    segment = _segment_index(SEGMENT_SIZES)
    logits = torch.randn(len(segment), 6, generator=generator)
    sample = segment_gumbel_softmax_st(logits, segment, len(SEGMENT_SIZES), tau=tau, generator=generator)
    assert sample.shape == logits.shape
    assert torch.all((sample == 0) | (sample == 1))
    counts = _per_segment_sum(sample, segment, len(SEGMENT_SIZES))
    torch.testing.assert_close(counts, torch.ones_like(counts), atol=0, rtol=0)


def test_segment_gumbel_softmax_gradient_reaches_logits(generator):
    """The segment-wise straight-through estimator passes a non-zero gradient to the logits."""
    segment = _segment_index(SEGMENT_SIZES)
    logits = torch.randn(len(segment), 3, generator=generator, requires_grad=True)
    weights = torch.randn(len(segment), 3, generator=generator)
    sample = segment_gumbel_softmax_st(logits, segment, len(SEGMENT_SIZES), generator=generator)
    (sample * weights).sum().backward()
    assert torch.isfinite(logits.grad).all()
    # singleton segments have a constant softmax, so only the larger segments receive gradient
    assert logits.grad[segment != 0].abs().sum() > 0


def test_segment_gumbel_softmax_frequencies_match_segment_softmax(generator):
    """Over many columns sharing the same logits, row frequencies within a segment match the segment softmax."""
    sizes = (3, 5)
    segment = _segment_index(sizes)
    column = torch.tensor([0.5, -1.0, 1.5, 2.0, 0.0, -0.5, 1.0, 0.2])
    logits = column.unsqueeze(1).expand(-1, 20_000)
    sample = segment_gumbel_softmax_st(logits, segment, len(sizes), generator=generator)
    expected = segment_softmax(column.unsqueeze(1), segment, len(sizes)).squeeze(1)
    torch.testing.assert_close(sample.mean(1), expected, atol=0.015, rtol=0)


def test_segment_gumbel_softmax_rejects_empty_segment(generator):
    """A segment index with no rows (here segment 1 of 3) is an error."""
    segment = torch.tensor([0, 0, 2, 2])
    with pytest.raises(ValueError, match="at least one element"):
        segment_gumbel_softmax_st(torch.randn(4, 2, generator=generator), segment, 3, generator=generator)


# ---------------------------------------------------------------- dropout to the null latent


@pytest.mark.parametrize("p, expected_kept", [(0.0, 1.0), (1.0, 0.0), (0.3, 0.7)])
def test_drop_latents_fixed_codebook(p, expected_kept, generator):
    """Each sample's latents are kept whole or zeroed whole, with probability 1 - p of being kept."""
    latents = torch.nn.functional.one_hot(torch.randint(0, 5, (4000, 3), generator=generator), 5).float()
    dropped = drop_latents(latents, p, generator=generator)
    kept = (dropped == latents).flatten(1).all(1)
    zeroed = (dropped == 0).flatten(1).all(1)
    assert torch.all(kept | zeroed)
    assert kept.float().mean().item() == pytest.approx(expected_kept, abs=0.03)


@pytest.mark.parametrize("p, expected_kept", [(0.0, 1.0), (1.0, 0.0), (0.5, 0.5)])
def test_drop_latents_segment_wise_drops_whole_segments(p, expected_kept, generator):
    """Segment-wise latents are dropped per segment: all of a segment's rows kept or all zeroed."""
    sizes = tuple(int(size) for size in torch.randint(1, 6, (2000,), generator=generator))
    segment = _segment_index(sizes)
    latents = torch.ones(len(segment), 2)
    dropped = drop_latents(latents, p, segment=segment, generator=generator)
    per_segment = _per_segment_sum(dropped, segment, len(sizes))[:, 0]
    sizes_tensor = torch.tensor(sizes, dtype=torch.float32)
    kept = per_segment == sizes_tensor
    assert torch.all(kept | (per_segment == 0))
    assert kept.float().mean().item() == pytest.approx(expected_kept, abs=0.04)


# ---------------------------------------------------------------- embedding


@pytest.fixture
def embedding() -> LatentEmbedding:
    """A LatentEmbedding whose null vectors are non-zero, so 'gives the null vector' is a real check."""
    torch.manual_seed(0)
    module = LatentEmbedding(num_latents=3, codebook_size=4, dim=6)
    with torch.no_grad():
        module.null.normal_()
    return module


def test_latent_embedding_one_hot_and_zero_latents(embedding):
    """A one-hot latent picks its table row; an all-zero latent gives that position's null vector."""
    latents = torch.zeros(2, 3, 4)
    latents[0, 0, 2] = 1.0
    latents[0, 2, 1] = 1.0
    latents[1, 1, 3] = 1.0
    out = embedding(latents, batch_size=2)
    assert out.shape == (2, 3, 6)
    expected = torch.stack(
        [
            torch.stack([embedding.table[0, 2], embedding.null[1], embedding.table[2, 1]]),
            torch.stack([embedding.null[0], embedding.table[1, 3], embedding.null[2]]),
        ]
    )
    torch.testing.assert_close(out, expected)


def test_latent_embedding_none_gives_null_for_batch(embedding):
    """Passing None returns the null embedding for every sample of the batch."""
    out = embedding(None, batch_size=5)
    assert out.shape == (5, 3, 6)
    torch.testing.assert_close(out, embedding.null.expand(5, -1, -1))
