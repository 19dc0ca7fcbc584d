"""Mixed precision: fp32 on the CPU is what it was before `train.precision` existed; bf16 learns alike."""

from __future__ import annotations

import hashlib

import pytest
import torch

from test_train import data, run, settings  # noqa: F401  (the tiny demo data fixture)

# sha256 of the best weights of the tiny training below (TINY config of tests/test_train.py,
# seed 3, 3 epochs, fp32, CPU, one torch thread), recorded at commit e768b25, before
# `train.precision` and `train.data_path` existed. It is a literal on purpose: fp32 on the CPU
# must stay bit-identical to that commit, not merely to itself.
FP32_WEIGHTS_AT_E768B25 = "cc1fb638603e280d5b124838e27f669008bb65350ba9df4da0a61c9d37e6ada7"


def weights_hash(state: dict[str, torch.Tensor]) -> str:
    """sha256 over the sorted keys, each with its dtype, shape and raw bytes."""
    digest = hashlib.sha256()
    for key in sorted(state):
        tensor = state[key].detach().cpu().contiguous()
        digest.update(f"{key}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def test_fp32_on_cpu_is_bit_identical_to_the_commit_before_mixed_precision(data, tmp_path):  # noqa: F811
    run(data, tmp_path, settings())
    assert weights_hash(torch.load(tmp_path / "vocals.pth", weights_only=True)) == FP32_WEIGHTS_AT_E768B25
