"""Image data sets: scikit-learn's digits, a folder of images, or a NumPy array file.

Every source ends as an `ImageDataset`: float32 images (N, C, H, W) in [-1, 1], resized to
``image_size`` x ``image_size``, with integer class labels when the source has classes.
Bad input raises `ImageDataError`, whose message names the path, what was expected and what
was found, so that the command line can print it as one line.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from disco_dock.image.config import DIGITS, DataConfig

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
GREY_MODES = ("1", "L", "LA")
CHANNEL_COUNTS = (1, 3)
MIN_IMAGES = 2
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK"


class ImageDataError(ValueError):
    """The image source is missing, empty, unreadable or not shaped as expected."""


@dataclass
class ImageDataset:
    """Images (N, C, H, W) float32 in [-1, 1]; labels (N,) long in 0..K-1 or None; K class names."""

    images: Tensor
    labels: Tensor | None
    class_names: list[str]

    @property
    def num_classes(self) -> int:
        """K, the number of classes; 0 for unlabelled data."""
        return 0 if self.labels is None else len(self.class_names)

    @property
    def channels(self) -> int:
        """1 for grey images, 3 for RGB."""
        return self.images.shape[1]

    def __len__(self) -> int:
        return self.images.shape[0]

    def subset(self, indices: Tensor | np.ndarray | list[int]) -> "ImageDataset":
        """The images (and labels) at ``indices``, with the same class names."""
        indices = torch.as_tensor(indices, dtype=torch.long)
        labels = None if self.labels is None else self.labels[indices]
        return ImageDataset(self.images[indices], labels, list(self.class_names))


def load_images(config: DataConfig) -> ImageDataset:
    """Load ``config.source`` and resize it to ``config.image_size`` (bilinear, antialiased).

    Sources:
    - ``digits``: scikit-learn's 1797 8x8 grey handwritten digits (values 0..16), classes "0".."9".
    - a folder: PNG / JPEG / BMP / GIF files (first frame). If sub-folders hold images, each such
      sub-folder is a class (sorted by name) and loose images beside them are refused; otherwise the
      images are unlabelled. Images are grey (1 channel) when every file is grey (PIL mode 1, L or
      LA), else all are converted to RGB (alpha dropped). Hidden files and folders are skipped.
    - a ``.npy`` file: unlabelled images, see `array_to_images` for the accepted layouts and ranges.
    - a ``.npz`` file: ``images`` (as for ``.npy``) and optional ``labels`` (N,). Labels that are
      exactly the integers 0..K-1 are kept; any other values become sorted class names.
    """
    if config.image_size < 1:
        raise ImageDataError(f"image_size must be a positive number of pixels, got {config.image_size}")
    if config.source == DIGITS:
        dataset = _load_digits()
    else:
        path = Path(config.source).expanduser()
        if not path.exists():
            raise ImageDataError(
                f"{path}: no such file or folder (expected '{DIGITS}', a folder of images, or a .npy/.npz file)"
            )
        if path.is_dir():
            dataset = _load_folder(path, config.image_size)
        elif path.suffix.lower() == ".npy":
            dataset = ImageDataset(array_to_images(_read_npy(path), path), None, [])
        elif path.suffix.lower() == ".npz":
            dataset = _load_npz(path)
        else:
            raise ImageDataError(f"{path}: expected a folder of images or a .npy/.npz file, found a '{path.suffix}' file")
    if len(dataset) < MIN_IMAGES:
        raise ImageDataError(f"{config.source}: need at least {MIN_IMAGES} images, found {len(dataset)}")
    dataset.images = resize(dataset.images, config.image_size)
    return dataset


def resize(images: Tensor, image_size: int) -> Tensor:
    """Bilinear, antialiased resize of (N, C, H, W) images to image_size x image_size (no-op if equal)."""
    if images.shape[-2:] == (image_size, image_size):
        return images
    resized = F.interpolate(images, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False)
    return resized.clamp(-1.0, 1.0)


def array_to_images(array: np.ndarray, path: Path | str) -> Tensor:
    """Convert an image array to float32 (N, C, H, W) in [-1, 1]; ``path`` only names it in errors.

    Layouts: (N, H, W) grey, (N, H, W, C) or (N, C, H, W) with C in {1, 3} (channels-first when both
    readings fit). Value ranges, detected from the dtype and the values:
    - integers (uint8 or any integer dtype) in 0..255 -> divided by 255;
    - floats with no negative value and maximum <= 1 -> read as [0, 1];
    - floats in [-1, 1] with some negative value -> kept as they are.
    Anything else (floats above 1, integers outside 0..255, NaN or infinity) is refused.
    """
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4:
        if array.shape[1] not in CHANNEL_COUNTS:
            if array.shape[3] not in CHANNEL_COUNTS:
                raise ImageDataError(
                    f"{path}: expected 1 or 3 channels as axis 1 or 3 of the image array, found shape {array.shape}"
                )
            array = array.transpose(0, 3, 1, 2)
    else:
        raise ImageDataError(
            f"{path}: expected an image array of shape (N,H,W), (N,H,W,C) or (N,C,H,W), found shape {array.shape}"
        )
    if np.issubdtype(array.dtype, np.integer):
        low, high = (int(array.min()), int(array.max())) if array.size else (0, 0)
        if low < 0 or high > 255:
            raise ImageDataError(f"{path}: integer images must lie in 0..255, found values {low}..{high}")
        unit = array.astype(np.float32) / 255.0
    elif np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ImageDataError(f"{path}: the image array contains NaN or infinite values")
        low, high = (float(array.min()), float(array.max())) if array.size else (0.0, 0.0)
        if low < -1.0 or high > 1.0:
            raise ImageDataError(
                f"{path}: float images must lie in [0, 1] or [-1, 1], found values in [{low:g}, {high:g}] "
                "(for 0..255 data save uint8 or divide by 255)"
            )
        unit = array.astype(np.float32) if low >= 0.0 else (array.astype(np.float32) + 1.0) / 2.0
    else:
        raise ImageDataError(f"{path}: expected an integer or float image array, found dtype {array.dtype}")
    return torch.from_numpy(np.ascontiguousarray(unit)) * 2.0 - 1.0


def split(dataset: ImageDataset, test_fraction: float, seed: int) -> tuple[ImageDataset, ImageDataset]:
    """Deterministic train / test split, stratified by class when labelled.

    The test part has round(N * test_fraction) images (at least 1, at most N - 1). With labels,
    each class contributes its share, remainders going to the classes with the largest fractional
    parts, so class proportions match in both parts. Both parts keep the original order.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    size = len(dataset)
    if size < MIN_IMAGES:
        raise ValueError(f"cannot split {size} image(s) into a train and a test part")
    test_size = min(max(round(size * test_fraction), 1), size - 1)
    labels = np.zeros(size, dtype=np.int64) if dataset.labels is None else dataset.labels.numpy()
    classes, counts = np.unique(labels, return_counts=True)
    shares = counts * test_size / size
    quotas = np.floor(shares).astype(np.int64)
    by_remainder = np.argsort(-(shares - quotas), kind="stable")
    quotas[by_remainder[: test_size - quotas.sum()]] += 1
    rng = np.random.default_rng(seed)
    is_test = np.zeros(size, dtype=bool)
    for label, quota in zip(classes, quotas):
        members = np.flatnonzero(labels == label)
        is_test[rng.permutation(members)[:quota]] = True
    return dataset.subset(np.flatnonzero(~is_test)), dataset.subset(np.flatnonzero(is_test))


def _load_digits() -> ImageDataset:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.from_numpy(digits.images.astype(np.float32) / 16.0 * 2.0 - 1.0).unsqueeze(1)
    labels = torch.from_numpy(digits.target.astype(np.int64))
    return ImageDataset(images, labels, [str(digit) for digit in range(10)])


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        path for path in folder.iterdir() if path.is_file() and _visible(path) and path.suffix.lower() in IMAGE_SUFFIXES
    )


def _load_folder(folder: Path, image_size: int) -> ImageDataset:
    loose_files = _image_files(folder)
    class_folders = [path for path in sorted(folder.iterdir()) if path.is_dir() and _visible(path) and _image_files(path)]
    if class_folders and loose_files:
        raise ImageDataError(
            f"{folder}: expected either class sub-folders of images or images only, found both "
            f"({len(class_folders)} sub-folder(s) with images, {len(loose_files)} loose image(s) such as {loose_files[0].name})"
        )
    if not class_folders and not loose_files:
        raise ImageDataError(f"{folder}: no images found (expected {'/'.join(IMAGE_SUFFIXES)} files or sub-folders of them)")
    if not class_folders:
        return ImageDataset(_read_image_files(loose_files, image_size), None, [])
    files, labels = [], []
    for label, class_folder in enumerate(class_folders):
        members = _image_files(class_folder)
        files += members
        labels += [label] * len(members)
    images = _read_image_files(files, image_size)
    return ImageDataset(images, torch.tensor(labels, dtype=torch.long), [path.name for path in class_folders])


def _read_image_files(files: list[Path], image_size: int) -> Tensor:
    """Decode every file (grey if all are grey, else RGB) and resize each; (N, C, S, S) in [-1, 1]."""
    from PIL import Image, UnidentifiedImageError

    pictures = []
    for file in files:
        try:
            with Image.open(file) as picture:
                picture.load()
                pictures.append(picture.copy())
        except (UnidentifiedImageError, OSError, ValueError) as error:
            raise ImageDataError(f"{file}: not a readable image ({error})") from error
    mode = "L" if all(picture.mode in GREY_MODES for picture in pictures) else "RGB"
    images = [
        resize(array_to_images(np.asarray(picture.convert(mode), dtype=np.uint8)[None], file), image_size)
        for picture, file in zip(pictures, files)
    ]
    return torch.cat(images)


def _check_header(path: Path, magic: bytes, saved_by: str) -> None:
    try:
        with path.open("rb") as handle:
            header = handle.read(len(magic))
    except OSError as error:
        raise ImageDataError(f"{path}: cannot be read ({error.strerror or error})") from error
    if header != magic:
        raise ImageDataError(f"{path}: not a {path.suffix.lower()} file (wrong header; write it with {saved_by})")


def _read_npy(path: Path) -> np.ndarray:
    _check_header(path, NPY_MAGIC, "numpy.save")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise ImageDataError(f"{path}: not a readable .npy file ({error})") from error


def _load_npz(path: Path) -> ImageDataset:
    _check_header(path, ZIP_MAGIC, "numpy.savez")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ImageDataError(f"{path}: not a readable .npz file ({error})") from error
    if "images" not in arrays:
        raise ImageDataError(f"{path}: expected an 'images' array in the .npz file, found {sorted(arrays) or 'no arrays'}")
    images = array_to_images(arrays["images"], path)
    if "labels" not in arrays:
        return ImageDataset(images, None, [])
    labels, class_names = _labels_to_classes(arrays["labels"], len(images), path)
    return ImageDataset(images, labels, class_names)


def _labels_to_classes(raw: np.ndarray, num_images: int, path: Path) -> tuple[Tensor, list[str]]:
    if raw.ndim != 1 or len(raw) != num_images:
        raise ImageDataError(f"{path}: expected labels of shape ({num_images},), one per image, found shape {raw.shape}")
    if np.issubdtype(raw.dtype, np.floating) and not np.isfinite(raw).all():
        raise ImageDataError(f"{path}: the labels contain NaN or infinite values")
    values, indices = np.unique(raw, return_inverse=True)
    if np.issubdtype(raw.dtype, np.integer) and np.array_equal(values, np.arange(len(values))):
        return torch.from_numpy(raw.astype(np.int64)), [str(value) for value in range(len(values))]
    names = [value.decode() if isinstance(value, bytes) else str(value) for value in values.tolist()]
    return torch.from_numpy(indices.astype(np.int64).reshape(-1)), names
