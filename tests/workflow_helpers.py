"""Run the workflow on a copy of a config in a temporary working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def workdir_with_config(tmp_path: Path, config: dict | None = None) -> Path:
    """A working directory holding `config.yaml` (the tiny test config unless given)."""
    config = config if config is not None else yaml.safe_load((ROOT / ".test" / "config.yaml").read_text())
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    return tmp_path


def snakemake_command(workdir: Path, *args: str) -> list[str]:
    """The `snakemake` command line on the repository's Snakefile in `workdir`."""
    return [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(workdir), "--cores", "2", *args]


def snakemake(workdir: Path, *args: str, timeout: int = 900, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`snakemake` on the repository's Snakefile in `workdir`; output captured as text; `env`:
    variables set on top of this process's environment."""
    environment = {**os.environ, **env} if env else None
    return subprocess.run(snakemake_command(workdir, *args), capture_output=True, text=True, timeout=timeout, env=environment)


def kernel_peak_env(peak_dir: Path) -> dict:
    """This process's environment plus tests/kernel_peak's hook: every script job of a run
    writes its kernel peak memory to `peak_dir` (tests/kernel_peak/sitecustomize.py)."""
    peak_dir.mkdir(parents=True, exist_ok=True)
    path = os.pathsep.join(filter(None, [str(ROOT / "tests" / "kernel_peak"), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "UMXMR_PEAK_DIR": str(peak_dir)}
