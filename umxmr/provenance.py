"""What produced a result: git commit, package versions, config hash.

Published scores are hard to reproduce when seeds and library versions go unrecorded
(open-unmix #15, #114): every result JSON carries this record.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from umxmr.settings import settings_hash

PACKAGES = ("torch", "numpy", "scipy", "museval", "norbert", "musdb", "soundfile")


def git_commit(repo: Path) -> str | None:
    """Short commit of `repo` (with `-dirty` when it has uncommitted changes), or None."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "describe", "--always", "--dirty", "--abbrev=7"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit or None


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def provenance(config: Mapping[str, Any], repo: Path) -> dict[str, Any]:
    """Config hash, commit and versions, to store beside a result."""
    return {"config_hash": settings_hash(config), "commit": git_commit(repo), "versions": versions()}
