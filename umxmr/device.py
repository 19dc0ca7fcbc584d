"""Choose the torch device of a job, and give concurrent jobs a GPU each.

Snakemake's `resources: gpu=1` is only a token locally: it limits how many training jobs
run at once, but it picks no GPU and sets no CUDA_VISIBLE_DEVICES. So on a box with N GPUs
(`--resources gpu=N`) every job on `device: auto` takes a *slot*: an exclusive `flock` on
`<slot dir>/gpu<i>.lock`, for the first free i; it trains on `cuda:i` and holds the lock
until it ends. The kernel drops the lock when the process dies, even by SIGKILL, so a
killed job never leaves a GPU taken. The slot directory is `.gpu-slots` in the working
directory (all jobs of a local run share it), or $UMXMR_GPU_SLOTS. With one GPU, no GPU,
or an explicit `cuda:N`, nothing changes.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

log = logging.getLogger("umxmr.device")


class DeviceError(RuntimeError):
    """The configured device is not there."""


def pick_device(requested: str) -> torch.device:
    """`auto` takes CUDA when present, else the CPU; `cuda[:N]` must exist."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(f"device {requested!r} asked for in config.yaml, but no CUDA device is available; use auto or cpu")
    return torch.device(requested)


def slot_dir() -> Path:
    return Path(os.environ.get("UMXMR_GPU_SLOTS", ".gpu-slots"))


@contextmanager
def acquire_slot(lock_dir: Path, count: int, poll: float = 2.0, timeout: float | None = None) -> Iterator[int]:
    """Hold the first free of `count` slots (an exclusive flock per slot) while the block runs."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    waited = 0.0
    while True:
        for index in range(count):
            fd = os.open(lock_dir / f"gpu{index}.lock", os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())  # who holds it, for a person looking
                yield index
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
            return
        if timeout is not None and waited >= timeout:
            raise DeviceError(f"all {count} GPU slots in {lock_dir} stayed taken for {timeout} s")
        if waited == 0:
            log.info("all %d GPU slots in %s are taken; waiting for one", count, lock_dir)
        time.sleep(poll)
        waited += poll


@contextmanager
def device_slot(requested: str, count: int | None = None) -> Iterator[torch.device]:
    """The job's device; on `auto` with several GPUs, a GPU no other job of this run holds."""
    device = pick_device(requested)
    count = torch.cuda.device_count() if count is None else count
    if requested != "auto" or device.type != "cuda" or count <= 1:
        yield device
        return
    with acquire_slot(slot_dir(), count) as index:
        log.info("GPU slot %d of %d: training on cuda:%d", index, count, index)
        yield torch.device("cuda", index)
