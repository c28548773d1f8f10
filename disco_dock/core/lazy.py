"""Package namespaces whose names are imported on first use (PEP 562), so that importing one
light module of a package (a config, a file reader) does not import the whole package."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, tuple[str, ...]]) -> tuple[Callable[[str], object], list[str]]:
    """A package's `__getattr__` and `__all__` for `exports` (submodule -> names it exports):
    `__getattr__(name)` imports `package.<submodule>` on first use and returns its `name`."""
    module_of = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> object:
        if name not in module_of:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module_of[name]}"), name)

    return __getattr__, sorted(module_of)
