"""What produced a result: git commit, package versions, config hash, device, seeds, settings.

Published scores are hard to reproduce when seeds and library versions go unrecorded
(open-unmix #15, #114): every result JSON carries this record (models, scores, the oracle
search), and the summary tables carry one row of it per variant.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from umxmr.atomic import write_text
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


def separation_provenance(run: Mapping[str, Any], device: str, wiener: Mapping[str, Any], models: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The record of one separated track: the run's `provenance`, the device, each target
    model's seed (`models`: target -> its summary JSON; empty for the oracle) and the
    Wiener/EM settings the separation applied (`umxmr.separation.separate.wiener_settings`)."""
    seeds = {target: summary["selected_seed"] for target, summary in models.items()}
    return {**run, "device": device, "seed": seeds or None, **wiener}


def write_separation_provenance(path: Path, run: Mapping[str, Any], device: str, wiener: Mapping[str, Any], models: Mapping[str, Mapping[str, Any]]) -> None:
    """`separation_provenance` as the `provenance.json` beside a track's estimates, atomically."""
    write_text(Path(path), json.dumps(separation_provenance(run, device, wiener, models), indent=2, sort_keys=True) + "\n")


def with_current_versions(record: Mapping[str, Any]) -> dict[str, Any]:
    """`record` with the versions of this process filled in where it had none.

    Each rule may run in its own environment: the separation job knows torch and norbert,
    the evaluation job museval; the score JSON keeps both.
    """
    merged = dict(record.get("versions", {}))
    merged.update({name: version for name, version in versions().items() if merged.get(name, "absent") == "absent"})
    return {**record, "versions": merged}


TABLE_COLUMNS = ("commit", "config_hash", "device", "seed", "niter", "residual", "wiener_win_len", "torch", "numpy", "museval", "norbert", "musdb")


def _cell(value: Any) -> str:
    if isinstance(value, Mapping):
        distinct = set(map(str, value.values()))
        return distinct.pop() if len(distinct) == 1 else ", ".join(f"{k} {v}" for k, v in value.items())
    return "–" if value is None else str(value)


def provenance_row(records: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """One table row for a variant from its tracks' records; a field that differs between
    tracks lists every value, so a mixed run cannot pass for a clean one."""
    row = {}
    for column in TABLE_COLUMNS:
        values = [_cell(r.get("versions", {}).get(column) if column in PACKAGES else r.get(column)) for r in records]
        row[column] = " | ".join(dict.fromkeys(values)) if values else "–"
    return row
