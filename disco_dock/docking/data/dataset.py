"""A lazy dataset over a preprocessing cache: one file read per item, nothing held in memory.

DiffDock kept every preprocessed complex in RAM, and its users ran out of memory at 10-20k
complexes; `ComplexDataset` keeps only the list of names.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from torch_geometric.data import Dataset, HeteroData

from disco_dock.docking.data.cache import CACHE_SUFFIX, cache_path, load_graph
from disco_dock.docking.data.discover import read_ids
from disco_dock.docking.data.errors import DataError, DataWarning


class ComplexDataset(Dataset):
    """The complexes of a cache folder written by `preprocess_dataset`, as `HeteroData` graphs.

    `names`: the complexes to use, as a list or a split file (one name per line); default all
    complexes in the cache, sorted. Names without a cache file (failed in preprocessing) are
    left out with one `DataWarning`, and listed in `missing`. `transform` is applied to each
    graph as it is read, as in any torch-geometric dataset.
    """

    def __init__(
        self,
        cache_dir: str | Path,
        names: Sequence[str] | str | Path | None = None,
        transform: Callable[[HeteroData], HeteroData] | None = None,
    ) -> None:
        super().__init__(root=None, transform=transform)
        self.cache_dir = Path(cache_dir)
        if not self.cache_dir.is_dir():
            raise DataError(self.cache_dir, "cache folder not found")
        available = sorted(path.name[: -len(CACHE_SUFFIX)] for path in self.cache_dir.glob(f"*{CACHE_SUFFIX}"))
        if names is None:
            wanted = available
        else:
            wanted = read_ids(names) if isinstance(names, (str, Path)) else list(names)
        present = set(available)
        self.names: list[str] = [name for name in wanted if name in present]
        self.missing: list[str] = [name for name in wanted if name not in present]
        if self.missing:
            warnings.warn(
                f"{self.cache_dir}: {len(self.missing)} complex(es) not in the cache, left out: {', '.join(self.missing[:5])}",
                DataWarning,
                stacklevel=2,
            )

    def len(self) -> int:
        """Number of complexes."""
        return len(self.names)

    def get(self, idx: int) -> HeteroData:
        """Read complex `idx` from its cache file."""
        return load_graph(cache_path(self.cache_dir, self.names[idx]))
