"""Shared fixtures: tiny audio, the repository paths, one local run of the tiny workflow."""

from __future__ import annotations

import shutil
import sys
import types
from pathlib import Path

import pytest

from workflow_helpers import kernel_peak_env, snakemake, workdir_with_config

ROOT = Path(__file__).resolve().parents[1]
START_SLURM = "bash tests/slurm/start_local_slurm.sh"

# openunmix 1.3.0 imports torchaudio at module level but its model and transforms never
# call it; torchaudio would pull another torch build, so the tests give it an empty module.
if "torchaudio" not in sys.modules:
    try:
        import torchaudio  # noqa: F401
    except ImportError:
        sys.modules["torchaudio"] = types.ModuleType("torchaudio")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory) -> Path:
    """The tiny workflow run locally to all its final outputs (shared by the workflow and SLURM tests);
    each job's kernel peak memory in the folder beside it named <run>_peaks (tests/test_resources.py)."""
    workdir = workdir_with_config(tmp_path_factory.mktemp("run"))
    result = snakemake(workdir, env=kernel_peak_env(workdir.with_name(workdir.name + "_peaks")))
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return workdir


# The `slurm` tests run whenever SLURM is installed here (sbatch on PATH) and fail with a
# message when it is not running. Where SLURM is not installed at all they are deselected,
# and the summary says so; `-m slurm` (or any -m expression) decides explicitly.
_deselected_slurm: list[pytest.Item] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("markexpr") or shutil.which("sbatch"):
        return
    _deselected_slurm.extend(item for item in items if item.get_closest_marker("slurm"))
    if _deselected_slurm:
        items[:] = [item for item in items if not item.get_closest_marker("slurm")]
        config.hook.pytest_deselected(items=_deselected_slurm)


def pytest_terminal_summary(terminalreporter) -> None:
    if _deselected_slurm:
        terminalreporter.write_line(
            f"{len(_deselected_slurm)} slurm tests deselected: SLURM is not installed here (no sbatch). "
            f"Start a local one with `{START_SLURM}` (Debian/Ubuntu, root or sudo) and run `make test` again.",
            yellow=True,
        )


@pytest.fixture
def one_blas_thread():
    """One BLAS/OpenMP thread: BSSEval's large solves crawl when threads fight over a small
    machine, and LAPACK's LU differs in the last bits between thread counts (compare like
    with like)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield
