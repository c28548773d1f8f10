"""Discrete latents: straight-through Gumbel-softmax, segment-wise pointers, null dropout, embeddings.

Representation shared by every backend: a latent is a one-hot vector. For a fixed codebook the
latents of a batch have shape (B, m, k); for segment-wise codebooks (each latent points at one
element of a variable-size set, e.g. one node of each graph in a batch) they have shape (N, m),
one column per latent, with exactly one 1 per segment and column. An all-zero latent means
"dropped": the network uses its learned null embedding instead, which is what classifier-free
guidance on the latents compares against.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _gumbel(shape, like: Tensor, generator=None) -> Tensor:
    uniform = torch.rand(shape, device=like.device, dtype=like.dtype, generator=generator)
    eps = torch.finfo(like.dtype).tiny
    return -torch.log((-torch.log(uniform.clamp_min(eps))).clamp_min(eps))


def gumbel_softmax_st(logits: Tensor, tau: float = 1.0, generator=None) -> Tensor:
    """Sample one-hot latents from categorical(softmax(logits)) over the last dimension.

    Forward: a hard one-hot sample (Gumbel-max). Backward: the gradient of the relaxed
    softmax((logits + g) / tau) (straight-through estimator).
    """
    perturbed = logits + _gumbel(logits.shape, logits, generator)
    soft = torch.softmax(perturbed / tau, dim=-1)
    hard = nn.functional.one_hot(perturbed.argmax(dim=-1), logits.shape[-1]).to(soft.dtype)
    return hard - soft.detach() + soft


def segment_softmax(values: Tensor, segment: Tensor, num_segments: int) -> Tensor:
    """Softmax of ``values`` (N, m) within each segment (rows sharing ``segment`` index), per column."""
    index = segment.unsqueeze(-1).expand_as(values)
    maxima = values.new_full((num_segments, values.shape[1]), -torch.inf)
    maxima = maxima.scatter_reduce(0, index, values, reduce="amax", include_self=True)
    exp = (values - maxima[segment]).exp()
    totals = values.new_zeros((num_segments, values.shape[1])).index_add(0, segment, exp)
    return exp / totals[segment]


def segment_argmax_one_hot(values: Tensor, segment: Tensor, num_segments: int) -> Tensor:
    """One-hot (N, m) marking, per segment and column, the row of the largest value (first on ties)."""
    counts = torch.bincount(segment, minlength=num_segments)
    if (counts == 0).any():
        raise ValueError("every segment needs at least one element")
    index = segment.unsqueeze(-1).expand_as(values)
    maxima = values.new_full((num_segments, values.shape[1]), -torch.inf)
    maxima = maxima.scatter_reduce(0, index, values, reduce="amax", include_self=True)
    rows = torch.arange(values.shape[0], device=values.device).unsqueeze(-1).expand_as(values)
    candidates = torch.where(values == maxima[segment], rows, values.shape[0])
    first = torch.full((num_segments, values.shape[1]), values.shape[0], device=values.device, dtype=torch.long)
    first = first.scatter_reduce(0, index, candidates, reduce="amin", include_self=True)
    return values.new_zeros(values.shape).scatter_(0, first, 1.0)


def segment_gumbel_softmax_st(
    logits: Tensor, segment: Tensor, num_segments: int, tau: float = 1.0, generator=None
) -> Tensor:
    """Segment-wise straight-through Gumbel-softmax: each of m columns picks one row per segment.

    ``logits`` (N, m) scores every element (e.g. graph node) for each of m latents; ``segment`` (N,)
    says which set (graph) each element belongs to. Returns (N, m) one-hot per segment and column.
    """
    perturbed = logits + _gumbel(logits.shape, logits, generator)
    soft = segment_softmax(perturbed / tau, segment, num_segments)
    hard = segment_argmax_one_hot(perturbed.detach(), segment, num_segments)
    return hard - soft.detach() + soft


def drop_latents(latents: Tensor, p: float, segment: Tensor | None = None, generator=None) -> Tensor:
    """Zero out (= replace by the null embedding) each sample's latents with probability ``p``.

    Fixed codebooks: ``latents`` (B, m, k), one draw per sample. Segment-wise: ``latents`` (N, m)
    with ``segment`` (N,), one draw per segment.
    """
    if p <= 0:
        return latents
    num_samples = latents.shape[0] if segment is None else int(segment.max()) + 1
    keep = torch.rand(num_samples, device=latents.device, generator=generator) >= p
    keep = keep if segment is None else keep[segment]
    return latents * keep.reshape(-1, *([1] * (latents.ndim - 1))).to(latents.dtype)


class LatentEmbedding(nn.Module):
    """Embeds m one-hot latents (B, m, k) into vectors (B, m, dim); all-zero latents get a learned null vector.

    Every latent position has its own table and its own null embedding. Passing ``None`` gives the
    null embedding for the whole batch (the unconditional branch of guidance).
    """

    def __init__(self, num_latents: int, codebook_size: int, dim: int):
        super().__init__()
        self.num_latents, self.codebook_size, self.dim = num_latents, codebook_size, dim
        self.table = nn.Parameter(torch.randn(num_latents, codebook_size, dim) / dim**0.5)
        self.null = nn.Parameter(torch.zeros(num_latents, dim))

    def forward(self, latents: Tensor | None, batch_size: int) -> Tensor:
        if latents is None:
            return self.null.expand(batch_size, -1, -1)
        present = latents.sum(dim=-1, keepdim=True)
        return torch.einsum("bmk,mkd->bmd", latents, self.table) + (1 - present) * self.null
