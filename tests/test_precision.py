"""Mixed precision: fp32 on the CPU is what it was before `train.precision` existed; bf16 learns alike."""

from __future__ import annotations

import hashlib
import math

import pytest
import torch

import umxmr.training.train as train
from test_train import data, run, settings  # noqa: F401  (the tiny demo data fixture)
from umxmr.data.dataset import FullTrackDataset
from umxmr.models.registry import build_frontend, build_model
from umxmr.settings import deep_merge

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


def fifty_steps(**over):
    """The tiny config for 50 Adam steps: 2 tracks × 100 excerpts in batches of 4, one epoch."""
    return settings(epochs=1, samples_per_track=100, batch_size=4, **over)


@pytest.fixture(scope="module")
def fp32_fifty(data, tmp_path_factory):  # noqa: F811
    """The fp32 run of `fifty_steps` (shared) and its folder."""
    folder = tmp_path_factory.mktemp("fp32")
    return run(data, folder, fifty_steps()), folder


def test_bf16_on_cpu_learns_as_fp32(data, fp32_fifty, tmp_path):  # noqa: F811
    """The loss of the 50 steps (the epoch's mean training loss, what the recipe logs) stays
    within 2 % of fp32's. The validation loss after them is not compared: on this tiny model it
    moves by ~7 % between two fp32 seeds already, and bf16's rounding changes the trajectory as
    much (3-13 % for seeds 3 and 4, measured); one forward pass of the same weights is compared instead."""
    fp32, fp32_dir = fp32_fifty
    bf16 = run(data, tmp_path / "bf16", fifty_steps(precision="bf16"))
    assert bf16["train_loss_history"][0] == pytest.approx(fp32["train_loss_history"][0], rel=0.02)
    assert bf16["train_loss_history"][0] != fp32["train_loss_history"][0]  # bf16 really ran

    tracks, stats = data
    config = fifty_steps()
    model = build_model(config, 44100.0, *stats)
    model.load_state_dict(torch.load(fp32_dir / "vocals.pth", weights_only=True))
    frontend = build_frontend(config, 44100.0, center=False)
    loader = torch.utils.data.DataLoader(FullTrackDataset(tracks["valid"], "vocals"), batch_size=1)
    cpu = torch.device("cpu")
    in_fp32 = train.validate(model, loader, cpu, frontend)
    assert in_fp32 == fp32["valid_loss_history"][0]
    assert train.validate(model, loader, cpu, frontend, "bf16") == pytest.approx(in_fp32, rel=0.01)


def test_fp16_on_cpu_runs_with_a_gradient_scaler_in_the_checkpoint(data, tmp_path):  # noqa: F811
    """fp16 steps under a GradScaler (20 steps: fp16 autocast is slow on the CPU). Its first
    steps overflow and are skipped while the scale settles (65536 halves on each overflow);
    the scaler's state is in the checkpoint, so a resume continues with it."""
    fp16 = run(data, tmp_path, settings(epochs=1, samples_per_track=40, batch_size=4, precision="fp16"))
    assert all(map(math.isfinite, fp16["train_loss_history"] + fp16["valid_loss_history"]))
    state = torch.load(tmp_path / "resume/vocals.chkpnt", weights_only=False)
    assert 0 < state["scaler"]["scale"] < 65536.0  # it backed off from its initial scale


def test_cuda_out_of_memory_names_the_job_the_batch_size_and_what_to_lower(data, tmp_path, monkeypatch):  # noqa: F811
    def no_memory(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(train, "_batch_loss", no_memory)
    with pytest.raises(train.OutOfMemory) as error:
        run(data, tmp_path, settings(batch_size=4))
    message = str(error.value)
    assert f"training vocals (writing {tmp_path / 'vocals.pth'})" in message
    assert "train.batch_size 4" in message and "Lower train.batch_size (e.g. to 2)" in message
    assert "train.precision: bf16" in message and "Tried to allocate 2.00 GiB" in message
    assert isinstance(error.value.__cause__, torch.cuda.OutOfMemoryError)
    assert not (tmp_path / "vocals.pth").exists()


def test_channels_last_is_for_models_with_2d_convolutions_only():
    """umx-mr-4's Conv2d/ConvTranspose2d weights go channels_last on CUDA; Open-Unmix (1-D
    convolution at most) and the NSGT model are left as they are."""
    from test_multires import multires, nsgt_settings

    assert train._has_conv2d(build_model(multires(2), 44100.0))
    assert not train._has_conv2d(build_model(settings(), 44100.0))
    assert not train._has_conv2d(build_model(deep_merge(settings(), {"model": {"first_layer": "conv"}}), 44100.0))
    assert not train._has_conv2d(build_model(nsgt_settings(), 44100.0))
    model = build_model(multires(2), 44100.0).to(memory_format=torch.channels_last)
    weight = model.double_freq.weight
    assert weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
