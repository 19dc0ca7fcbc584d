"""GPU slots: concurrent jobs get different GPUs; tested with locks only, no GPU needed."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import torch

from umxmr.device import DeviceError, acquire_slot, device_slot


def test_concurrent_holders_get_different_slots(tmp_path):
    with acquire_slot(tmp_path, 3) as first, acquire_slot(tmp_path, 3) as second:
        with acquire_slot(tmp_path, 3) as third:
            assert sorted([first, second, third]) == [0, 1, 2]
            with pytest.raises(DeviceError, match="all 3 GPU slots"):
                with acquire_slot(tmp_path, 3, poll=0.01, timeout=0.05):
                    pass
        # a released slot is free again
        with acquire_slot(tmp_path, 3) as again:
            assert again not in (first, second)


def test_a_killed_holder_frees_its_slot(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from umxmr.device import acquire_slot\n"
         f"with acquire_slot(Path({str(tmp_path)!r}), 1):\n    print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(DeviceError):
        with acquire_slot(tmp_path, 1, poll=0.01, timeout=0.05):
            pass
    holder.kill()
    holder.wait()
    deadline = time.monotonic() + 10
    with acquire_slot(tmp_path, 1, poll=0.05, timeout=10) as index:
        assert index == 0 and time.monotonic() < deadline


def test_cpu_and_single_gpu_need_no_slot(tmp_path, monkeypatch):
    monkeypatch.setenv("UMXMR_GPU_SLOTS", str(tmp_path / "slots"))
    with device_slot("cpu") as device:
        assert device == torch.device("cpu")
    with device_slot("auto", count=1) as device:
        assert device.type in ("cpu", "cuda")
    assert not (tmp_path / "slots").exists()


def test_auto_with_several_gpus_takes_a_slot(tmp_path, monkeypatch):
    monkeypatch.setenv("UMXMR_GPU_SLOTS", str(tmp_path / "slots"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with device_slot("auto", count=2) as first, device_slot("auto", count=2) as second:
        assert {first, second} == {torch.device("cuda", 0), torch.device("cuda", 1)}
    assert sorted(p.name for p in (tmp_path / "slots").iterdir()) == ["gpu0.lock", "gpu1.lock"]
