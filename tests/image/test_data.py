"""Loading images from every supported source, the refusals of bad input, and the train / test split."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from disco_dock.image.config import DataConfig
from disco_dock.image.data import ImageDataError, ImageDataset, load_images, split


def write_png(path, value: int, size: int = 6, mode: str = "L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = value if mode == "L" else (value, 0, 255 - value)
    Image.new(mode, (size, size), colour).save(path)


def load(source, image_size: int = 8) -> ImageDataset:
    return load_images(DataConfig(source=str(source), image_size=image_size))


def test_digits_load_as_grey_8x8_in_range_with_ten_classes():
    digits = load_images(DataConfig())
    assert digits.images.shape == (1797, 1, 8, 8) and digits.images.dtype == torch.float32
    assert digits.images.min() == -1.0 and digits.images.max() == 1.0
    assert digits.labels.dtype == torch.long and sorted(digits.labels.unique().tolist()) == list(range(10))
    assert digits.class_names == [str(digit) for digit in range(10)]
    assert (digits.num_classes, digits.channels, len(digits)) == (10, 1, 1797)


def test_digits_are_resized_to_the_configured_size():
    digits = load_images(DataConfig(image_size=16))
    assert digits.images.shape == (1797, 1, 16, 16)
    assert digits.images.min() >= -1.0 and digits.images.max() <= 1.0


def test_folder_with_class_subfolders_is_labelled_by_sorted_folder_name(tmp_path):
    for name, value, count in (("zebra", 255, 2), ("ant", 0, 3)):
        for index in range(count):
            write_png(tmp_path / name / f"{index}.png", value)
    (tmp_path / "notes.txt").write_text("not an image")
    dataset = load(tmp_path)
    assert dataset.class_names == ["ant", "zebra"]
    assert dataset.labels.tolist() == [0, 0, 0, 1, 1]
    assert dataset.images.shape == (5, 1, 8, 8)
    assert torch.allclose(dataset.images[:3], torch.tensor(-1.0)) and torch.allclose(dataset.images[3:], torch.tensor(1.0))


def test_flat_folder_is_unlabelled_and_rgb_when_any_image_is_colour(tmp_path):
    write_png(tmp_path / "a.png", 0)
    write_png(tmp_path / "b.PNG", 255, size=10, mode="RGB")
    write_png(tmp_path / "c.bmp", 128, mode="RGB")
    dataset = load(tmp_path, image_size=6)
    assert dataset.labels is None and dataset.num_classes == 0 and dataset.class_names == []
    assert dataset.images.shape == (3, 3, 6, 6)
    assert torch.allclose(dataset.images[1, :, 0, 0], torch.tensor([1.0, -1.0, -1.0]))


@pytest.mark.parametrize("layout", ["NHW", "NHWC", "NCHW"])
def test_npy_layouts_give_the_same_images(tmp_path, layout):
    grey = np.random.default_rng(0).integers(0, 256, size=(4, 5, 5), dtype=np.uint8)
    array = {"NHW": grey, "NHWC": grey[..., None], "NCHW": grey[:, None]}[layout]
    np.save(tmp_path / "images.npy", array)
    dataset = load(tmp_path / "images.npy", image_size=5)
    assert dataset.labels is None and dataset.images.shape == (4, 1, 5, 5)
    assert torch.allclose(dataset.images[:, 0], torch.from_numpy(grey / 255.0 * 2 - 1).float(), atol=1e-6)


def test_npy_rgb_channels_last_and_float_ranges(tmp_path):
    unit = np.random.default_rng(0).random((3, 4, 4, 3)).astype(np.float32)
    np.save(tmp_path / "unit.npy", unit)
    np.save(tmp_path / "signed.npy", unit * 2 - 1)
    from_unit, from_signed = load(tmp_path / "unit.npy", 4), load(tmp_path / "signed.npy", 4)
    assert from_unit.images.shape == (3, 3, 4, 4)
    assert torch.allclose(from_unit.images, from_signed.images, atol=1e-6)
    assert torch.allclose(from_unit.images, torch.from_numpy(unit * 2 - 1).permute(0, 3, 1, 2))


def test_npz_with_string_labels_maps_them_to_sorted_class_names(tmp_path):
    images = np.zeros((4, 8, 8), dtype=np.uint8)
    np.savez(tmp_path / "data.npz", images=images, labels=np.array(["dog", "cat", "dog", "eel"]))
    dataset = load(tmp_path / "data.npz")
    assert dataset.class_names == ["cat", "dog", "eel"]
    assert dataset.labels.tolist() == [1, 0, 1, 2] and dataset.num_classes == 3


def test_npz_integer_labels_are_kept_when_they_are_0_to_k_minus_1(tmp_path):
    images = np.zeros((4, 8, 8), dtype=np.uint8)
    np.savez(tmp_path / "dense.npz", images=images, labels=np.array([2, 0, 1, 2]))
    np.savez(tmp_path / "sparse.npz", images=images, labels=np.array([7, 3, 3, 7]))
    dense, sparse = load(tmp_path / "dense.npz"), load(tmp_path / "sparse.npz")
    assert dense.labels.tolist() == [2, 0, 1, 2] and dense.class_names == ["0", "1", "2"]
    assert sparse.labels.tolist() == [1, 0, 0, 1] and sparse.class_names == ["3", "7"]


def test_arrays_are_resized_bilinearly(tmp_path):
    ramp = np.tile(np.linspace(0, 1, 16, dtype=np.float32), (2, 16, 1))
    np.save(tmp_path / "ramp.npy", ramp)
    dataset = load(tmp_path / "ramp.npy", image_size=4)
    assert dataset.images.shape == (2, 1, 4, 4)
    row = dataset.images[0, 0, 0]
    assert (row.diff() > 0).all() and row.min() > -1 and row.max() < 1


def bad_sources(tmp_path):
    """Each bad input: (name, path to load)."""
    (tmp_path / "empty").mkdir()
    write_png(tmp_path / "broken" / "good.png", 0)
    (tmp_path / "broken" / "bad.png").write_bytes(b"not a png at all")
    write_png(tmp_path / "mixed" / "loose.png", 0)
    write_png(tmp_path / "mixed" / "cls" / "inside.png", 0)
    write_png(tmp_path / "single" / "only.png", 0)
    arrays = {
        "rank.npy": np.zeros((4, 8), dtype=np.uint8),
        "rank5.npy": np.zeros((2, 1, 8, 8, 1), dtype=np.uint8),
        "channels.npy": np.zeros((4, 2, 8, 8), dtype=np.uint8),
        "range.npy": np.full((4, 8, 8), 3.0, dtype=np.float32),
        "nan.npy": np.full((4, 8, 8), np.nan, dtype=np.float32),
        "one.npy": np.zeros((1, 8, 8), dtype=np.uint8),
    }
    for name, array in arrays.items():
        np.save(tmp_path / name, array)
    np.savez(tmp_path / "labels.npz", images=np.zeros((4, 8, 8), dtype=np.uint8), labels=np.arange(3))
    np.savez(tmp_path / "nolabels.npz", pictures=np.zeros((4, 8, 8), dtype=np.uint8))
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}, None]), allow_pickle=True)
    (tmp_path / "garbage.npy").write_bytes(b"nothing numpy here")
    (tmp_path / "garbage.npz").write_bytes(b"nothing numpy here")
    (tmp_path / "image.tiff").write_bytes(b"")
    names = ["empty", "broken", "mixed", "single", *arrays, "labels.npz", "nolabels.npz", "objects.npy"]
    names += ["garbage.npy", "garbage.npz", "image.tiff"]
    return [(name, tmp_path / name) for name in names] + [("missing", tmp_path / "missing")]


def test_every_bad_source_raises_image_data_error_naming_the_path(tmp_path):
    for name, path in bad_sources(tmp_path):
        with pytest.raises(ImageDataError) as caught:
            load(path)
        message = str(caught.value)
        assert str(path) in message, (name, message)
        assert "\n" not in message, (name, message)
        if name == "broken":
            assert "bad.png" in message


def test_split_is_deterministic_disjoint_and_stratified():
    digits = load_images(DataConfig())
    train, test = split(digits, 0.2, seed=3)
    again_train, again_test = split(digits, 0.2, seed=3)
    assert torch.equal(train.images, again_train.images) and torch.equal(test.labels, again_test.labels)
    assert len(train) + len(test) == len(digits) and len(test) == round(0.2 * len(digits))
    assert train.class_names == test.class_names == digits.class_names
    expected = torch.bincount(digits.labels) * 0.2
    assert (torch.bincount(test.labels, minlength=10) - expected).abs().max() < 1
    other_train, _ = split(digits, 0.2, seed=4)
    assert not torch.equal(train.images, other_train.images)


def test_split_parts_partition_the_images():
    numbered = ImageDataset(torch.arange(50.0).reshape(50, 1, 1, 1), torch.arange(50) % 3, ["a", "b", "c"])
    train, test = split(numbered, 0.3, seed=0)
    indices = torch.cat([train.images.flatten(), test.images.flatten()]).long()
    assert sorted(indices.tolist()) == list(range(50)) and len(test) == 15
    assert torch.equal(train.labels, train.images.flatten().long() % 3)


def test_split_of_unlabelled_data_keeps_both_parts_non_empty():
    dataset = ImageDataset(torch.zeros(3, 1, 8, 8), None, [])
    train, test = split(dataset, 0.01, seed=0)
    assert (len(train), len(test)) == (2, 1) and test.labels is None
    with pytest.raises(ValueError):
        split(dataset, 1.0, seed=0)
