"""Autoregressive prior p(z_1..z_m | condition) over discrete latents: a small causal transformer."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from disco_dock.core.config import Settings


@dataclass(frozen=True)
class PriorConfig(Settings):
    """Sizes of the prior. ``num_classes`` > 0 adds class conditioning, ``context_dim`` > 0 a context vector."""

    num_latents: int
    codebook_size: int
    dim: int = 128
    layers: int = 2
    heads: int = 4
    dropout: float = 0.0
    num_classes: int = 0
    context_dim: int = 0


class AutoregressivePrior(nn.Module):
    """Causal transformer: token i sees the condition and z_<i and predicts the logits of z_i.

    Position 0 holds a learned start token plus the condition embedding; position i > 0 holds the
    embedding of z_(i-1). Targets may be hard (B, m) class indices or soft (B, m, k) probabilities.
    """

    def __init__(self, config: PriorConfig):
        super().__init__()
        self.config = config
        m, k, d = config.num_latents, config.codebook_size, config.dim
        self.start = nn.Parameter(torch.zeros(d))
        self.token_table = nn.Parameter(torch.randn(k, d) / d**0.5)
        self.position = nn.Parameter(torch.randn(m, d) * 0.02)
        self.class_embedding = nn.Embedding(config.num_classes, d) if config.num_classes > 0 else None
        self.context_projection = nn.Linear(config.context_dim, d) if config.context_dim > 0 else None
        layer = nn.TransformerEncoderLayer(
            d, config.heads, 4 * d, config.dropout, batch_first=True, norm_first=True, activation="gelu"
        )
        self.transformer = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, k)
        self.register_buffer("causal_mask", nn.Transformer.generate_square_subsequent_mask(m), persistent=False)

    def _condition(self, batch_size: int, labels: Tensor | None, context: Tensor | None) -> Tensor:
        cond = self.start.expand(batch_size, -1)
        if self.class_embedding is not None:
            if labels is None:
                raise ValueError("this prior is class-conditional: pass labels")
            cond = cond + self.class_embedding(labels)
        if self.context_projection is not None:
            if context is None:
                raise ValueError("this prior is context-conditional: pass context")
            cond = cond + self.context_projection(context)
        return cond

    def forward(self, targets: Tensor, labels: Tensor | None = None, context: Tensor | None = None) -> Tensor:
        """Teacher-forced logits (B, m, k) for targets (B, m) long or (B, m, k) probabilities."""
        one_hot = self._as_probabilities(targets)
        batch_size, m, _ = one_hot.shape
        previous = one_hot[:, : m - 1] @ self.token_table
        tokens = torch.cat([self._condition(batch_size, labels, context).unsqueeze(1), previous], dim=1)
        tokens = tokens + self.position[:m]
        hidden = self.transformer(tokens, mask=self.causal_mask[:m, :m], is_causal=True)
        return self.head(self.norm(hidden))

    def _as_probabilities(self, targets: Tensor) -> Tensor:
        if targets.dtype == torch.long:
            return nn.functional.one_hot(targets, self.config.codebook_size).to(self.token_table.dtype)
        return targets.to(self.token_table.dtype)

    def loss(self, targets: Tensor, labels: Tensor | None = None, context: Tensor | None = None) -> Tensor:
        """Mean cross-entropy per latent against hard or soft targets."""
        log_probs = torch.log_softmax(self(targets, labels, context), dim=-1)
        return -(self._as_probabilities(targets) * log_probs).sum(-1).mean()

    def log_prob(self, latents: Tensor, labels: Tensor | None = None, context: Tensor | None = None) -> Tensor:
        """log p(z | condition) per sample, shape (B,), for hard latents (B, m)."""
        log_probs = torch.log_softmax(self(latents, labels, context), dim=-1)
        return log_probs.gather(-1, latents.unsqueeze(-1)).squeeze(-1).sum(-1)

    @torch.no_grad()
    def sample(
        self,
        num_samples: int,
        labels: Tensor | None = None,
        context: Tensor | None = None,
        temperature: float = 1.0,
        generator=None,
    ) -> Tensor:
        """Ancestral sampling of hard latents (num_samples, m); logits are divided by ``temperature``."""
        m = self.config.num_latents
        latents = torch.zeros(num_samples, m, dtype=torch.long, device=self.token_table.device)
        for i in range(m):
            logits = self(latents, labels, context)[:, i] / temperature
            probs = torch.softmax(logits.float(), dim=-1)
            latents[:, i] = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
        return latents
