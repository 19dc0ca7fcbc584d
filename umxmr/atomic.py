"""Write outputs through a temporary sibling and `os.replace`.

A killed or failing job then leaves either the old file or none, never half a file.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _temp_sibling(path: Path, suffix: str) -> Path:
    """A new hidden file beside `path`, mode 0666 & ~umask (mkstemp's 0600 would stick to the output)."""
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}{suffix}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file next to {path}")


@contextmanager
def atomic_path(path: Path, suffix: str | None = None) -> Iterator[Path]:
    """A temporary path beside `path` that replaces it only if the block succeeds.

    `suffix` (default: that of `path`) keeps writers that choose a format by extension happy.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_sibling(path, path.suffix if suffix is None else suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path: Path, text: str) -> None:
    """Write `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """A temporary sibling folder that is renamed to `path` only if the block succeeds.

    A build system must never mistake a half-written folder for a finished one; `path` must
    not exist yet.
    """
    path = Path(path)
    if os.path.lexists(path):
        raise FileExistsError(f"{path} already exists; remove it first")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=path.name + ".tmp-", dir=path.parent))
    try:
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; the final folder should be normal
        yield tmp
        if os.path.lexists(path):  # rename() would silently replace an empty folder
            raise FileExistsError(f"{path} appeared while it was being written")
        os.rename(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
