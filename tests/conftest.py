"""Shared fixtures: tiny audio and the repository paths."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

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
