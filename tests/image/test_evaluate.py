"""The evaluation classifier, the Frechet distance and the image grids."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from disco_dock.image.config import DataConfig
from disco_dock.image.data import ImageDataset, load_images, split
from disco_dock.image.evaluate import (
    Classifier,
    class_accuracy,
    frechet_distance,
    image_features,
    random_shift,
    score_samples,
    train_classifier,
)
from disco_dock.image.grids import save_grid


@pytest.fixture(scope="module")
def digits_split():
    return split(load_images(DataConfig()), 0.2, seed=0)


@pytest.fixture(scope="module")
def digits_classifier(digits_split):
    return train_classifier(digits_split[0], steps=300, seed=0, progress=False)


def test_frechet_distance_of_a_set_with_itself_is_zero():
    features = np.random.default_rng(0).normal(size=(500, 16))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(torch.from_numpy(features), features) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_matches_the_closed_form_between_gaussians():
    rng = np.random.default_rng(0)
    dim, count = 8, 20_000
    shift = rng.normal(size=dim)
    a = rng.normal(size=(count, dim))
    b = rng.normal(size=(count, dim)) + shift
    assert frechet_distance(a, b) == pytest.approx(shift @ shift, rel=0.02, abs=0.02)
    # N(0, I) vs N(0, 4 I): tr(I + 4I - 2 * 2I) = dim.
    assert frechet_distance(a, 2 * rng.normal(size=(count, dim))) == pytest.approx(dim, rel=0.05)


def test_frechet_distance_survives_singular_covariances():
    rng = np.random.default_rng(0)
    low_rank = rng.normal(size=(100, 2)) @ rng.normal(size=(2, 10))
    distance = frechet_distance(low_rank, low_rank + 1.0)
    assert np.isfinite(distance) and distance == pytest.approx(10.0, rel=1e-3)
    with pytest.raises(ValueError):
        frechet_distance(low_rank, low_rank[:, :5])


def test_frechet_distance_retries_with_a_diagonal_offset_when_sqrtm_fails(monkeypatch):
    from scipy import linalg

    real_sqrtm, calls = linalg.sqrtm, []

    def failing_once(matrix):
        calls.append(matrix)
        return np.full_like(matrix, np.nan) if len(calls) == 1 else real_sqrtm(matrix)

    monkeypatch.setattr(linalg, "sqrtm", failing_once)
    features = np.random.default_rng(0).normal(size=(200, 4))
    assert frechet_distance(features, features + 0.5) == pytest.approx(1.0, abs=1e-4)
    assert len(calls) == 2


def test_random_shift_moves_by_at_most_one_pixel():
    images = torch.zeros(64, 1, 8, 8)
    images[:, :, 4, 4] = 1.0
    shifted = random_shift(images, torch.Generator().manual_seed(0))
    assert shifted.shape == images.shape
    rows, cols = (shifted[:, 0] == 1.0).nonzero()[:, 1:].T
    assert set(rows.tolist()) == {3, 4, 5} and set(cols.tolist()) == {3, 4, 5}


def test_classifier_works_for_any_channel_count_and_size():
    for channels, size in ((1, 8), (3, 16), (3, 28)):
        classifier = Classifier(channels, num_classes=5)
        images = torch.zeros(2, channels, size, size)
        assert classifier(images).shape == (2, 5)
        assert classifier.features(images).shape == (2, 128)


def test_classifier_learns_digits(digits_split, digits_classifier):
    train, test = digits_split
    assert not digits_classifier.training
    assert class_accuracy(digits_classifier, test.images, test.labels) > 0.85
    again = train_classifier(train.subset(range(200)), steps=3, seed=0, progress=False)
    same = train_classifier(train.subset(range(200)), steps=3, seed=0, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(again.parameters(), same.parameters()))


def test_scores_of_real_images_are_good_and_of_noise_are_bad(digits_split, digits_classifier):
    train, test = digits_split
    features = image_features(digits_classifier, test.images, batch_size=100)
    assert features.shape == (len(test), 128)
    reference = image_features(digits_classifier, train.images)
    real = score_samples(digits_classifier, test.images, test.labels, reference)
    noise = score_samples(digits_classifier, torch.rand_like(test.images) * 2 - 1, test.labels, reference)
    assert real.class_accuracy > 0.85 and noise.class_accuracy < 0.5
    assert 0 < real.frechet_distance < noise.frechet_distance / 5
    assert score_samples(digits_classifier, test.images, None, reference).class_accuracy is None


def test_unlabelled_data_use_fixed_random_features():
    unlabelled = ImageDataset(torch.rand(50, 3, 8, 8) * 2 - 1, None, [])
    first = train_classifier(unlabelled, steps=100, seed=7, progress=False)
    second = train_classifier(unlabelled, steps=100, seed=7, progress=False)
    assert first.num_classes == 0
    assert torch.equal(image_features(first, unlabelled.images), image_features(second, unlabelled.images))
    scores = score_samples(first, unlabelled.images[:25], None, image_features(first, unlabelled.images[25:]))
    assert scores.class_accuracy is None and np.isfinite(scores.frechet_distance)
    with pytest.raises(ValueError):
        first(unlabelled.images)


@pytest.mark.parametrize("channels", [1, 3])
def test_save_grid_writes_a_png_of_the_expected_size(tmp_path, channels):
    images = torch.linspace(-1, 1, 7 * channels * 8 * 6).reshape(7, channels, 8, 6)
    path = save_grid(images, tmp_path / "nested" / "grid.png", columns=3, scale=2)
    assert path == tmp_path / "nested" / "grid.png" and list(path.parent.iterdir()) == [path]
    with Image.open(path) as picture:
        assert picture.format == "PNG" and picture.mode == ("L" if channels == 1 else "RGB")
        # 3 columns of width 6 and 3 rows of height 8, 1-pixel borders between them, enlarged twice.
        assert picture.size == ((3 * 6 + 2) * 2, (3 * 8 + 2) * 2)
        pixels = np.asarray(picture)
    first_pixel = ((images[0, :, 0, 0] + 1) * 127.5).round().int()
    assert np.array_equal(pixels[0, 0].reshape(-1), first_pixel.numpy())
    assert np.all(pixels[:, 12:14] == 128)


def test_save_grid_refuses_bad_shapes(tmp_path):
    with pytest.raises(ValueError):
        save_grid(torch.zeros(2, 2, 8, 8), tmp_path / "grid.png", columns=2)
    with pytest.raises(ValueError):
        save_grid(torch.zeros(2, 1, 8, 8), tmp_path / "grid.png", columns=0)
