"""A training job killed or signalled mid-run, then retried by Snakemake (rule train's
`retries`), ends exactly like an uninterrupted one."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
import torch
import yaml

from workflow_helpers import ROOT, SNAKEMAKE, snakemake, workdir_with_config

TARGET = "results/umx-mr-0/vocals.pth"
CHECKPOINT = "resume/umx-mr-0/seeds/42/vocals.chkpnt"
EPOCHS = 5


def resume_config() -> dict:
    """The tiny test config, with epochs long enough (~1 s) to be interrupted between."""
    config = yaml.safe_load((ROOT / ".test" / "config.yaml").read_text())
    config["demo"]["overrides"]["model"] = {"hidden_size": 8, "nb_layers": 2}  # recurrent dropout in play
    config["demo"]["overrides"]["train"].update(epochs=EPOCHS, samples_per_track=8, batch_size=4, device="cpu")
    # the validation SDR every other epoch: its history must survive the stop too
    config["demo"]["overrides"]["train"].update(valid_sdr=True, valid_sdr_every=2)
    return config


def checkpoint_epoch(path: Path) -> int:
    try:
        return torch.load(path, map_location="cpu", weights_only=False)["epoch"]
    except (FileNotFoundError, EOFError, RuntimeError):
        return 0


def training_processes(parent: psutil.Process) -> list[psutil.Process]:
    """The Python processes running rule train's script under `parent`."""
    found = []
    for child in parent.children(recursive=True):
        try:
            cmdline = child.cmdline()
        except psutil.NoSuchProcess:
            continue
        if cmdline and "python" in Path(cmdline[0]).name and any(a.endswith("train.py") for a in cmdline[1:]):
            found.append(child)
    return found


def run_and_signal_after_epoch(workdir: Path, epoch: int, signum: int, timeout: float = 600) -> tuple[int, str]:
    """Snakemake on TARGET; once the checkpoint of `epoch` exists, `signum` to the training job.

    Returns the epoch of the checkpoint when the signal went out and Snakemake's output.
    """
    proc = subprocess.Popen(
        [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(workdir), "--cores", "2", TARGET],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + timeout
    try:
        while checkpoint_epoch(workdir / CHECKPOINT) < epoch:
            assert proc.poll() is None, "snakemake ended before the checkpoint appeared"
            assert time.monotonic() < deadline, "no checkpoint in time"
            time.sleep(0.05)
        signalled_at = checkpoint_epoch(workdir / CHECKPOINT)
        jobs = training_processes(psutil.Process(proc.pid))
        assert len(jobs) == 1, "training job not found"
        jobs[0].send_signal(signum)
        output, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output[-3000:]
    return signalled_at, output


def load_summary(workdir: Path) -> dict:
    summary = json.loads((workdir / "results/umx-mr-0/vocals.json").read_text())
    summary.pop("train_time_history")
    summary.pop("provenance")
    return summary


def assert_same_result(interrupted: Path, uninterrupted: Path) -> None:
    a = torch.load(interrupted / TARGET, weights_only=True)
    b = torch.load(uninterrupted / TARGET, weights_only=True)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    summary, expected = load_summary(interrupted), load_summary(uninterrupted)
    assert summary == expected
    assert summary["epochs_trained"] == EPOCHS and summary["best_loss"] == min(summary["valid_loss_history"])
    # epochs 2 and 4 by the schedule, 5 as the last; the window is the study's evaluation window
    assert [v is not None for v in summary["valid_sdr_history"]] == [False, True, False, True, True]
    assert summary["args"]["train"]["valid_sdr_window"] == [1.0, 1.0]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    workdir = workdir_with_config(tmp_path_factory.mktemp("uninterrupted"), resume_config())
    result = snakemake(workdir, TARGET)
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


@pytest.mark.workflow
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM, signal.SIGUSR1])
def test_interrupted_training_is_retried_and_ends_equal(tmp_path, uninterrupted, signum):
    workdir = workdir_with_config(tmp_path, resume_config())
    signalled_at, output = run_and_signal_after_epoch(workdir, 2, signum)
    assert 2 <= signalled_at < EPOCHS, "the job was not interrupted mid-run"
    assert "Trying to restart job" in output or "attempt 2" in output, output[-3000:]
    log = (workdir / "logs/train/umx-mr-0/seeds/42/vocals.log").read_text()
    resumed = re.search(rf"resuming vocals from {CHECKPOINT} after epoch (\d+)", log)
    assert resumed and int(resumed[1]) >= signalled_at, log
    # finished epochs are not trained again (the log of a resumed job goes on after the first one's)
    assert f"epoch {resumed[1]}/{EPOCHS} " not in log[log.index(resumed[0]) :]
    assert_same_result(workdir, uninterrupted)
    interruptions = json.loads((workdir / "results/umx-mr-0/vocals.json").read_text())["provenance"]["interruptions"]
    if signum == signal.SIGKILL:
        assert interruptions == []  # killed: nothing could record it
    else:
        assert [i["signal"] for i in interruptions] == [signal.Signals(signum).name]
        assert interruptions[0]["epoch"] >= signalled_at
