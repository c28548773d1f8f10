"""Image grids: many small images tiled into one enlarged PNG for a quick look."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from disco_dock.core.files import replacing

BORDER_GREY = 128


def save_grid(images: Tensor, path: Path | str, columns: int, scale: int = 4) -> Path:
    """Tile images (N, C, H, W) in [-1, 1] (C = 1 grey or 3 RGB) row by row into a PNG at ``path``.

    Tiles are separated by 1-pixel grey lines (no outer frame); empty slots of the last row are grey.
    At most ``columns`` tiles per row (fewer if N is smaller). The picture is then enlarged ``scale``
    times with nearest-neighbour, so its size is ((cols*W + cols-1) * scale) x ((rows*H + rows-1) * scale).
    Parent folders are created; the file is written atomically (temporary file, then rename).
    """
    from PIL import Image

    if images.ndim != 4 or images.shape[1] not in (1, 3) or len(images) == 0:
        raise ValueError(f"expected a non-empty batch of images (N, 1 or 3, H, W), got shape {tuple(images.shape)}")
    if columns < 1 or scale < 1:
        raise ValueError(f"columns and scale must be positive, got columns={columns}, scale={scale}")
    count, channels, height, width = images.shape
    columns = min(columns, count)
    rows = math.ceil(count / columns)
    pixels = ((images.detach().cpu().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    tiles = pixels.numpy().transpose(0, 2, 3, 1)
    canvas = np.full((rows * (height + 1) - 1, columns * (width + 1) - 1, channels), BORDER_GREY, dtype=np.uint8)
    for index, tile in enumerate(tiles):
        top, left = (index // columns) * (height + 1), (index % columns) * (width + 1)
        canvas[top : top + height, left : left + width] = tile
    canvas = canvas.repeat(scale, axis=0).repeat(scale, axis=1)
    picture = Image.fromarray(canvas[..., 0] if channels == 1 else canvas)
    path = Path(path)
    with replacing(path) as temporary:
        picture.save(temporary, format="PNG")
    return path
