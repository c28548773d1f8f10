"""The one exception of the physics layer."""

from __future__ import annotations


class PhysicsError(ValueError):
    """A molecule, protein or pose the physics layer cannot handle; `str(error)` is one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(" ".join(str(reason).split()))  # one line, whatever Open Babel or meeko said
