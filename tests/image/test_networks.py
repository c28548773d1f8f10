"""The image networks: shapes, the latent pathway (null latents, hierarchical groups), conditioning
errors, gradients through DisCo-Diff's stage-1 loss, and a short training run."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import Tensor, nn

from disco_dock.core.disco import DisCoDiff
from disco_dock.core.edm import EDMDenoiser, edm_loss
from disco_dock.image.config import DataConfig, EncoderConfig, ImageConfig, LatentConfig, UNetConfig
from disco_dock.image.networks import UNet, ViTEncoder, build_denoiser, build_encoder

NUM_CLASSES = 10
SMALL = ImageConfig(
    latents=LatentConfig(num_latents=4, codebook_size=8, embed_dim=32),
    encoder=EncoderConfig(dim=32, depth=1, heads=4),
    unet=UNetConfig(channels=(16, 32, 32), attention_levels=(1, 2), heads=4, embed_dim=32),
)
HIERARCHICAL = SMALL.replace(latents=dataclasses.replace(SMALL.latents, groups=(2, 2)))
PLAIN = SMALL.replace(latents=dataclasses.replace(SMALL.latents, num_latents=0))
VARIANTS = {"standard": SMALL, "hierarchical": HIERARCHICAL, "plain": PLAIN}


def one_hot_latents(codes: Tensor, config: ImageConfig) -> Tensor:
    return nn.functional.one_hot(codes, config.latents.codebook_size).float()


def random_latents(batch_size: int, config: ImageConfig, generator: torch.Generator) -> Tensor:
    codes = torch.randint(config.latents.codebook_size, (batch_size, config.latents.num_latents), generator=generator)
    return one_hot_latents(codes, config)


def perturbed(module: nn.Module, seed: int = 0, scale: float = 0.1) -> nn.Module:
    """Add small noise to every parameter, so zero-initialised projections no longer hide the latents."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.add_(scale * torch.randn(parameter.shape, generator=generator))
    return module


def inputs(batch_size: int = 4, channels: int = 1, size: int = 8, seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch_size, channels, size, size, generator=generator)
    c_noise = torch.randn(batch_size, generator=generator)
    labels = torch.randint(NUM_CLASSES, (batch_size,), generator=generator)
    return x, c_noise, labels


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_denoiser_output_has_the_image_shape(variant):
    config = VARIANTS[variant]
    torch.manual_seed(0)
    denoiser = build_denoiser(config, channels=1, num_classes=NUM_CLASSES)
    assert isinstance(denoiser, EDMDenoiser)
    x, _, labels = inputs()
    latents = None if variant == "plain" else random_latents(4, config, torch.Generator().manual_seed(1))
    out = denoiser(x, torch.full((4,), 0.7), latents=latents, labels=labels)
    assert out.shape == x.shape and torch.isfinite(out).all()


def test_three_channel_16x16_images():
    config = SMALL.replace(data=DataConfig(image_size=16), unet=dataclasses.replace(SMALL.unet, attention_levels=(0, 1)))
    torch.manual_seed(0)
    network, encoder = UNet(config, 3, NUM_CLASSES), build_encoder(config, 3)
    x, c_noise, labels = inputs(channels=3, size=16)
    logits = encoder(x)
    latents = one_hot_latents(logits.argmax(-1), config)
    assert logits.shape == (4, 4, 8)
    assert network(x, c_noise, latents=latents, labels=labels).shape == (4, 3, 16, 16)


def test_encoder_gives_one_row_of_logits_per_latent_and_ignores_labels():
    torch.manual_seed(0)
    encoder = build_encoder(SMALL, channels=1)
    assert isinstance(encoder, ViTEncoder)
    x, _, labels = inputs(batch_size=5)
    logits = encoder(x)
    assert logits.shape == (5, SMALL.latents.num_latents, SMALL.latents.codebook_size)
    assert torch.equal(logits, encoder(x, labels=labels))
    assert build_encoder(PLAIN, channels=1) is None


def test_untrained_cross_attention_is_neutral_but_trained_one_reads_the_latents():
    torch.manual_seed(0)
    network = UNet(SMALL, 1, NUM_CLASSES)
    nn.init.normal_(network.out_conv.weight, std=0.1)
    x, c_noise, labels = inputs()
    generator = torch.Generator().manual_seed(1)
    first, second = random_latents(4, SMALL, generator), random_latents(4, SMALL, generator)
    assert torch.allclose(network(x, c_noise, first, labels), network(x, c_noise, second, labels))
    perturbed(network)
    assert not torch.allclose(network(x, c_noise, first, labels), network(x, c_noise, second, labels))


@pytest.mark.parametrize("variant", ["standard", "hierarchical"])
def test_zero_latents_are_the_null_embedding(variant):
    config = VARIANTS[variant]
    torch.manual_seed(0)
    network = perturbed(UNet(config, 1, NUM_CLASSES))
    x, c_noise, labels = inputs()
    latents = random_latents(4, config, torch.Generator().manual_seed(1))
    unconditional = network(x, c_noise, None, labels)
    assert torch.allclose(network(x, c_noise, torch.zeros_like(latents), labels), unconditional, atol=1e-6)
    latents[0] = 0  # sample 0 dropped, the others keep their latents
    mixed = network(x, c_noise, latents, labels)
    assert torch.allclose(mixed[0], unconditional[0], atol=1e-6)
    assert not torch.allclose(mixed[1:], unconditional[1:])


def test_hierarchical_group_one_skips_the_coarsest_cross_attention():
    torch.manual_seed(0)
    network = perturbed(UNet(HIERARCHICAL, 1, NUM_CLASSES))
    coarsest = network.decoder_levels[0][-1]
    assert coarsest.latent_slice == slice(0, 2)
    assert all(block.cross_attention is None for level in network.encoder_levels for block in level)
    seen: list[tuple[Tensor, Tensor]] = []
    coarsest.cross_attention.register_forward_hook(lambda module, args, out: seen.append(args))
    x, c_noise, labels = inputs()
    codes = torch.zeros(4, 4, dtype=torch.long)
    changed_group_one, changed_group_zero = codes.clone(), codes.clone()
    changed_group_one[:, 2:] = 5
    changed_group_zero[:, :2] = 5
    outputs = [network(x, c_noise, one_hot_latents(c, HIERARCHICAL), labels) for c in (codes, changed_group_one, changed_group_zero)]
    (features, tokens), (features_1, tokens_1), (_, tokens_0) = seen
    assert torch.equal(features, features_1) and torch.equal(tokens, tokens_1)
    assert not torch.allclose(outputs[0], outputs[1])
    assert not torch.allclose(tokens, tokens_0)


def test_conditioning_errors():
    x, c_noise, labels = inputs()
    with pytest.raises(ValueError, match="labels"):
        UNet(SMALL, 1, NUM_CLASSES)(x, c_noise)
    with pytest.raises(ValueError, match="unconditional"):
        UNet(SMALL, 1, 0)(x, c_noise, labels=labels)
    plain = UNet(PLAIN, 1, NUM_CLASSES)
    assert plain(x, c_noise, None, labels).shape == x.shape
    with pytest.raises(ValueError, match="num_latents = 0"):
        plain(x, c_noise, random_latents(4, SMALL, torch.Generator().manual_seed(0)), labels)


def test_configuration_errors():
    with pytest.raises(ValueError, match="decoder attention levels"):
        UNet(SMALL.replace(latents=dataclasses.replace(SMALL.latents, groups=(1, 1, 2))), 1, 0)
    with pytest.raises(ValueError, match="level indices"):
        UNet(SMALL.replace(unet=dataclasses.replace(SMALL.unet, attention_levels=(3,))), 1, 0)


def test_gradients_reach_encoder_and_denoiser_through_the_disco_loss():
    torch.manual_seed(0)
    model = DisCoDiff(perturbed(build_encoder(SMALL, 1)), perturbed(build_denoiser(SMALL, 1, NUM_CLASSES)))
    x, _, labels = inputs(batch_size=8)
    model.loss(x, SMALL.edm, labels=labels).mean().backward()
    for name, parameter in model.named_parameters():
        if name.endswith("latent_embedding.null"):  # only reached by dropped samples
            continue
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_short_training_lowers_the_loss_at_fixed_noise():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    templates = torch.randn(4, 1, 8, 8, generator=generator).sign() * 0.5
    labels = torch.arange(64) % 4
    images = templates[labels] + 0.05 * torch.randn(64, 1, 8, 8, generator=generator)
    model = DisCoDiff(build_encoder(SMALL, 1), build_denoiser(SMALL, 1, NUM_CLASSES))
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)

    def loss_at_fixed_noise() -> float:
        with torch.no_grad():
            latents = one_hot_latents(model.encoder(images).argmax(-1), SMALL)
            fixed = torch.Generator().manual_seed(1)
            return edm_loss(model.denoiser, images, SMALL.edm, fixed, latents=latents, labels=labels).mean().item()

    before = loss_at_fixed_noise()
    for _ in range(150):
        optimizer.zero_grad()
        model.loss(images, SMALL.edm, labels=labels).mean().backward()
        optimizer.step()
    after = loss_at_fixed_noise()
    assert after < 0.5 * before, (before, after)
