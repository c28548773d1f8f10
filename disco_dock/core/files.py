"""Files written whole or not at all, and fingerprints of files, so that results can name exactly
what made them."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """A temporary file beside `path` to write to; when the block ends without an error it replaces
    `path` (one rename), otherwise it is removed, so a crash never leaves half a file at `path`.

    The temporary name (`<name>.<random hex>.tmp`, not created in advance, so the writer gives it
    the usual permissions) ends in ".tmp", so that no glob for `path`'s suffix ever lists it; a
    process killed outright (SIGKILL) can leave one behind. Writers that add a missing suffix
    (numpy's `savez`) are given an open file instead:
    `with replacing(out) as temporary, temporary.open("wb") as handle: np.savez(handle, ...)`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def sha256_of(path: str | Path) -> str:
    """The hex sha256 of the file at `path`, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
