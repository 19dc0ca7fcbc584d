"""Choose the torch device of a job.

Snakemake's `resources: gpu=1` is only a token locally: it picks no GPU and sets no
CUDA_VISIBLE_DEVICES, so a job decides here.
"""

from __future__ import annotations

import torch


class DeviceError(RuntimeError):
    """The configured device is not there."""


def pick_device(requested: str) -> torch.device:
    """`auto` takes CUDA when present, else the CPU; `cuda[:N]` must exist."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(f"device {requested!r} asked for in config.yaml, but no CUDA device is available; use auto or cpu")
    return torch.device(requested)
