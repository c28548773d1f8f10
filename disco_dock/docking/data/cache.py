"""The preprocessing cache: one `torch.save` file per complex, `<cache>/<name>.pt`.

A file holds `{"format": CACHE_FORMAT, "graph": HeteroData.to_dict()}`: plain tensors, strings
and numbers only, so it loads with `torch.load(..., weights_only=True)` and does not depend on
torch-geometric's pickled classes. Files are written whole or not at all (`core.files.replacing`),
so a run that is killed never leaves a half-written `.pt` behind.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch_geometric.data import HeteroData

from disco_dock.core.files import replacing
from disco_dock.docking.data.errors import DataError

CACHE_FORMAT = 2
"""Version of the cache file layout; bumped when fields change or mean something else (2: only
single bonds are rotatable, `conformers.rotatable_bonds`)."""
CACHE_SUFFIX = ".pt"


def cache_path(cache_dir: str | Path, name: str) -> Path:
    """The cache file of complex `name`."""
    return Path(cache_dir) / f"{name}{CACHE_SUFFIX}"


def save_graph(graph: HeteroData, path: str | Path) -> None:
    """Write `graph` to `path` atomically (temporary file, then rename)."""
    with replacing(path) as temporary:
        torch.save({"format": CACHE_FORMAT, "graph": graph.to_dict()}, temporary)


def is_current(path: str | Path) -> bool:
    """Whether `path` is a cache file that `load_graph` reads (missing, damaged or of an older
    `CACHE_FORMAT`: it is made again)."""
    try:
        load_graph(path)
    except DataError:
        return False
    return True


def load_graph(path: str | Path) -> HeteroData:
    """Read a graph written by `save_graph`; DataError if the file is missing, damaged or of another format."""
    path = Path(path)
    try:
        content = torch.load(path, weights_only=True)
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except Exception as error:  # torch raises RuntimeError, UnpicklingError, EOFError, ... on damaged files
        raise DataError(path, f"cannot read cache file ({type(error).__name__}: {error})") from None
    if not isinstance(content, dict) or content.get("format") != CACHE_FORMAT:
        found = content.get("format") if isinstance(content, dict) else type(content).__name__
        raise DataError(path, f"cache format {found!r}, expected {CACHE_FORMAT}: preprocess again")
    return HeteroData.from_dict(content["graph"])
