"""Networks of the image backend: a ViT latent encoder and an EDM U-Net that cross-attends to the latents.

The U-Net follows EDM's DDPM++ layout (Karras et al. 2022) in a lighter form: residual blocks
whose GroupNorm is modulated by a noise (+ class) embedding, parameter-free 2x average-pool
downsampling and nearest upsampling between levels (as ADM without resampling convolutions:
resampling residual blocks cost about 15% of a CPU training step at 8x8 and add little there),
skip connections from every encoder stage, self-attention at the listed levels (every
encoder block there, the first middle block, the last decoder block of a level). DisCo-Diff
adds a cross-attention layer after each of those self-attentions in which the image features
attend to the m latent tokens (Xu et al. 2024); in the group-hierarchical variant only the
decoder cross-attends, latent group i feeding the i-th decoder attention level from the
coarsest.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from disco_dock.core.edm import EDMDenoiser
from disco_dock.core.latents import LatentEmbedding
from disco_dock.core.layers import SinusoidalEmbedding
from disco_dock.image.config import ImageConfig


def group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with EDM's min(32, channels / 4) groups (at least 4 channels each), made to divide ``channels``."""
    return nn.GroupNorm(math.gcd(channels, min(32, channels // 4)), channels)


def pre_norm_transformer(dim: int, heads: int, layers: int) -> nn.TransformerEncoder:
    """Pre-norm transformer (GELU MLP of width 4 dim, no dropout) with a final LayerNorm."""
    layer = nn.TransformerEncoderLayer(
        dim, heads, 4 * dim, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
    )
    return nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(dim), enable_nested_tensor=False)


class ViTEncoder(nn.Module):
    """ViT from a clean image (B, C, H, W) to the logits (B, m, k) of the m discrete latents.

    Linear patch embedding plus learned positions, m learned classification tokens (one per
    latent), a pre-norm transformer; token i -> LayerNorm -> Linear(dim, k) gives latent i.
    """

    def __init__(self, config: ImageConfig, channels: int):
        super().__init__()
        size, patch, dim = config.data.image_size, config.encoder.patch_size, config.encoder.dim
        if config.latents.num_latents < 1:
            raise ValueError("ViTEncoder needs num_latents >= 1 (the plain model has no encoder)")
        if size % patch:
            raise ValueError(f"image_size {size} is not divisible by the encoder patch_size {patch}")
        self.num_latents = config.latents.num_latents
        self.patch_embedding = nn.Conv2d(channels, dim, kernel_size=patch, stride=patch)
        self.position_embedding = nn.Parameter(torch.randn((size // patch) ** 2, dim) * 0.02)
        self.latent_tokens = nn.Parameter(torch.randn(self.num_latents, dim) * 0.02)
        self.transformer = pre_norm_transformer(dim, config.encoder.heads, config.encoder.depth)
        self.head = nn.Linear(dim, config.latents.codebook_size)

    def forward(self, clean: Tensor, labels: Tensor | None = None) -> Tensor:
        """Latent logits (B, m, k); ``labels`` are accepted for the common interface and ignored."""
        patches = self.patch_embedding(clean).flatten(2).transpose(1, 2) + self.position_embedding
        latent_tokens = self.latent_tokens.expand(clean.shape[0], -1, -1)
        tokens = self.transformer(torch.cat([latent_tokens, patches], dim=1))
        return self.head(tokens[:, : self.num_latents])


def multi_head_attention(query: Tensor, key: Tensor, value: Tensor, heads: int) -> Tensor:
    """Scaled dot-product attention of query (B, N, C) over key/value (B, M, C), split into heads."""

    def split(tokens: Tensor) -> Tensor:
        return tokens.unflatten(-1, (heads, -1)).transpose(1, 2)

    return F.scaled_dot_product_attention(split(query), split(key), split(value)).transpose(1, 2).flatten(2)


class SelfAttention(nn.Module):
    """Residual multi-head self-attention over the pixels of a feature map (B, C, H, W)."""

    def __init__(self, channels: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm = group_norm(channels)
        self.query_key_value = nn.Linear(channels, 3 * channels)
        self.out = nn.Linear(channels, channels)

    def forward(self, features: Tensor) -> Tensor:
        pixels = self.norm(features).flatten(2).transpose(1, 2)
        query, key, value = self.query_key_value(pixels).chunk(3, dim=-1)
        attended = self.out(multi_head_attention(query, key, value, self.heads))
        return features + attended.transpose(1, 2).reshape(features.shape)


class CrossAttention(nn.Module):
    """Residual cross-attention: the pixels of (B, C, H, W) (queries) attend to latent tokens (B, m', D).

    The output projection starts at zero, so an untrained layer passes the features through.
    """

    def __init__(self, channels: int, latent_dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm = group_norm(channels)
        self.query = nn.Linear(channels, channels)
        self.key_value = nn.Linear(latent_dim, 2 * channels)
        self.out = nn.Linear(channels, channels)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, features: Tensor, latent_tokens: Tensor) -> Tensor:
        query = self.query(self.norm(features).flatten(2).transpose(1, 2))
        key, value = self.key_value(latent_tokens).chunk(2, dim=-1)
        attended = self.out(multi_head_attention(query, key, value, self.heads))
        return features + attended.transpose(1, 2).reshape(features.shape)


class UNetBlock(nn.Module):
    """Residual block, then optional self-attention and cross-attention to (a group of) the latent tokens.

    Residual path: GroupNorm, SiLU, 3x3 conv, GroupNorm modulated by the embedding (scale and
    shift), SiLU, dropout, 3x3 conv; skip path: 1x1 conv if the width changes.
    ``latent_slice`` picks the latent tokens the cross-attention sees (None: no cross-attention).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        embed_dim: int,
        dropout: float = 0.0,
        attention_heads: int | None = None,
        latent_dim: int = 0,
        latent_slice: slice | None = None,
    ):
        super().__init__()
        self.norm_in = group_norm(in_channels)
        self.conv_in = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.embedding = nn.Linear(embed_dim, 2 * out_channels)
        self.norm_out = group_norm(out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv_out = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()
        self.self_attention = SelfAttention(out_channels, attention_heads) if attention_heads else None
        self.latent_slice = latent_slice
        cross_attends = attention_heads is not None and latent_slice is not None
        self.cross_attention = CrossAttention(out_channels, latent_dim, attention_heads) if cross_attends else None

    def forward(self, features: Tensor, embedding: Tensor, latent_tokens: Tensor | None) -> Tensor:
        hidden = self.conv_in(F.silu(self.norm_in(features)))
        scale, shift = self.embedding(embedding)[:, :, None, None].chunk(2, dim=1)
        hidden = F.silu(self.norm_out(hidden) * (1 + scale) + shift)
        hidden = self.conv_out(self.dropout(hidden)) + self.skip(features)
        if self.self_attention is not None:
            hidden = self.self_attention(hidden)
        if self.cross_attention is not None:
            hidden = self.cross_attention(hidden, latent_tokens[:, self.latent_slice])
        return hidden


class UNet(nn.Module):
    """The raw network F of the DisCo-Diff image denoiser: F(x, c_noise; latents, labels) -> (B, C, H, W).

    Level i has ``config.unet.channels[i]`` channels at side image_size / 2^i. The m one-hot
    latents are embedded (`LatentEmbedding`; None or all-zero = learned null) and mixed by a small
    transformer once per call (within each group only, in the hierarchical variant); the
    cross-attention layers read these tokens. ``num_latents`` 0 gives the plain EDM U-Net (no
    cross-attention); ``num_classes`` > 0 adds a class embedding to the noise embedding and makes
    ``labels`` (B,) required.
    """

    def __init__(self, config: ImageConfig, channels: int, num_classes: int):
        super().__init__()
        unet, latents = config.unet, config.latents
        widths, size = unet.channels, config.data.image_size
        levels = len(widths)
        if size % 2 ** (levels - 1):
            raise ValueError(f"image_size {size} is not divisible by 2^(levels-1) = {2 ** (levels - 1)}")
        sides = [size >> level for level in range(levels)]
        if not all(0 <= level < levels for level in unet.attention_levels):
            raise ValueError(f"attention_levels {unet.attention_levels} must be level indices 0..{levels - 1}")
        attention_sides = {sides[level] for level in unet.attention_levels}
        if latents.hierarchical and len(latents.groups) > len(attention_sides):
            raise ValueError(
                f"{len(latents.groups)} latent groups need as many decoder attention levels, "
                f"got {len(attention_sides)} ({sorted(attention_sides)})"
            )
        self.num_classes, self.num_latents = num_classes, latents.num_latents

        self.noise_embedding = SinusoidalEmbedding(unet.embed_dim, min_period=2 * math.pi, max_period=2 * math.pi * 10_000.0 ** (1 - 2 / unet.embed_dim))
        self.class_embedding = nn.Embedding(num_classes, unet.embed_dim) if num_classes > 0 else None
        self.embedding_mlp = nn.Sequential(
            nn.Linear(unet.embed_dim, unet.embed_dim), nn.SiLU(), nn.Linear(unet.embed_dim, unet.embed_dim), nn.SiLU()
        )

        # Which latent tokens the cross-attention of the encoder and middle blocks, and of the
        # decoder at each attention side, reads (None: no cross-attention there).
        if latents.hierarchical:
            encoder_slice = None
            bounds = [0, *itertools.accumulate(latents.groups)]
            coarsest_first = sorted(attention_sides)
            decoder_slices = {side: slice(start, stop) for side, start, stop in zip(coarsest_first, bounds, bounds[1:])}
            group_index = torch.repeat_interleave(torch.arange(len(latents.groups)), torch.tensor(latents.groups))
            self.register_buffer("cross_group_mask", group_index[:, None] != group_index[None, :], persistent=False)
        else:
            encoder_slice = slice(0, latents.num_latents) if latents.num_latents else None
            decoder_slices = dict.fromkeys(attention_sides, encoder_slice)
            self.cross_group_mask = None
        if latents.num_latents:
            self.latent_embedding = LatentEmbedding(latents.num_latents, latents.codebook_size, latents.embed_dim)
            self.latent_transformer = pre_norm_transformer(latents.embed_dim, unet.heads, latents.transformer_layers)

        def block(width_in, width_out, side=None, latent_slice=None) -> UNetBlock:
            attend = side in attention_sides
            return UNetBlock(
                width_in, width_out, unet.embed_dim, unet.dropout,
                attention_heads=unet.heads if attend else None,
                latent_dim=latents.embed_dim,
                latent_slice=latent_slice if attend else None,
            )

        self.stem = nn.Conv2d(channels, widths[0], 3, padding=1)
        skip_widths, width = [widths[0]], widths[0]
        self.encoder_levels = nn.ModuleList()
        for level, (side, level_width) in enumerate(zip(sides, widths)):
            if level > 0:
                skip_widths.append(width)
            blocks = nn.ModuleList()
            for _ in range(unet.blocks_per_level):
                blocks.append(block(width, level_width, side, encoder_slice))
                width = level_width
                skip_widths.append(width)
            self.encoder_levels.append(blocks)
        self.middle_blocks = nn.ModuleList([block(width, width, sides[-1], encoder_slice), block(width, width)])
        self.decoder_levels = nn.ModuleList()
        for level in reversed(range(levels)):
            blocks = nn.ModuleList()
            for index in range(unet.blocks_per_level + 1):
                side = sides[level] if index == unet.blocks_per_level else None
                blocks.append(block(width + skip_widths.pop(), widths[level], side, decoder_slices.get(sides[level])))
                width = widths[level]
            self.decoder_levels.append(blocks)
        self.out_norm = group_norm(width)
        self.out_conv = nn.Conv2d(width, channels, 3, padding=1)
        nn.init.zeros_(self.out_conv.weight)
        nn.init.zeros_(self.out_conv.bias)

    def latent_tokens(self, latents: Tensor | None, batch_size: int) -> Tensor | None:
        """Latent tokens (B, m, embed_dim) read by the cross-attention; None for the plain model."""
        if self.num_latents == 0:
            if latents is not None:
                raise ValueError("this U-Net has no latents (num_latents = 0) but latents were passed")
            return None
        return self.latent_transformer(self.latent_embedding(latents, batch_size), mask=self.cross_group_mask)

    def _embedding(self, c_noise: Tensor, labels: Tensor | None) -> Tensor:
        embedding = self.noise_embedding(c_noise)
        if self.class_embedding is not None:
            if labels is None:
                raise ValueError(f"this U-Net is class-conditional ({self.num_classes} classes): pass labels=")
            embedding = embedding + self.class_embedding(labels)
        elif labels is not None:
            raise ValueError("this U-Net is unconditional (num_classes = 0) but labels were passed")
        return self.embedding_mlp(embedding)

    def forward(
        self, x: Tensor, c_noise: Tensor, latents: Tensor | None = None, labels: Tensor | None = None
    ) -> Tensor:
        """F(x; c_noise, latents, labels) for x (B, C, H, W), c_noise (B,), one-hot latents (B, m, k)."""
        embedding = self._embedding(c_noise, labels)
        tokens = self.latent_tokens(latents, x.shape[0])
        hidden = self.stem(x)
        skips = [hidden]
        for level, blocks in enumerate(self.encoder_levels):
            if level > 0:
                hidden = F.avg_pool2d(hidden, 2)
                skips.append(hidden)
            for block in blocks:
                hidden = block(hidden, embedding, tokens)
                skips.append(hidden)
        for block in self.middle_blocks:
            hidden = block(hidden, embedding, tokens)
        for level, blocks in enumerate(self.decoder_levels):
            if level > 0:
                hidden = F.interpolate(hidden, scale_factor=2.0, mode="nearest")
            for block in blocks:
                hidden = block(torch.cat([hidden, skips.pop()], dim=1), embedding, tokens)
        return self.out_conv(F.silu(self.out_norm(hidden)))


def build_denoiser(config: ImageConfig, channels: int, num_classes: int) -> EDMDenoiser:
    """The EDM-preconditioned U-Net denoiser D(x; sigma, latents=, labels=)."""
    return EDMDenoiser(UNet(config, channels, num_classes), sigma_data=config.edm.sigma_data)


def build_encoder(config: ImageConfig, channels: int) -> ViTEncoder | None:
    """The ViT latent encoder, or None for the plain model (num_latents = 0)."""
    return ViTEncoder(config, channels) if config.latents.num_latents else None
