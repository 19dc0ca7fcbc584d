"""The workflow on a real SLURM through profiles/slurm (start one: tests/slurm/start_local_slurm.sh).

Every job is an sbatch submission; the job records are read with `scontrol show job` while the
run goes on (there is no accounting database, so no sacct). The results must equal a local
run with the same seed, and a training job cancelled or sent SIGUSR1 mid-run must be retried and resume.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from conftest import START_SLURM
from umxmr.resources import split_mem_mb, track_mem_mb
from workflow_helpers import ROOT, snakemake, snakemake_command, workdir_with_config

pytestmark = pytest.mark.slurm

TARGETS = ["vocals", "drums", "bass", "other"]
# The SLURM profile replaces profiles/default (whose gpu=1 token would let one training run at a
# time on the whole cluster); status checks every few seconds suit a one-node test cluster.
SLURM_ARGS = ("--workflow-profile", str(ROOT / "profiles" / "slurm"), "--slurm-init-seconds-before-status-checks", "5")
SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)")


@pytest.fixture(scope="module")
def slurm() -> None:
    """Fails, with what to do, when no SLURM answers or it lacks the profile's partitions."""
    try:
        result = subprocess.run(["sinfo", "-h", "-o", "%R %a"], capture_output=True, text=True, timeout=30)
        answer = result.stdout if result.returncode == 0 else result.stderr
    except (OSError, subprocess.TimeoutExpired) as error:
        answer = str(error)
    partitions = dict(line.split() for line in answer.splitlines() if len(line.split()) == 2)
    if partitions.get("cpu") != "up" or partitions.get("gpu") != "up":
        pytest.fail(
            f"no SLURM with partitions cpu and gpu answers here ({answer.strip() or 'sinfo printed nothing'}). "
            f"Start the local test cluster with `{START_SLURM}`, or leave these tests out with -m 'not slurm'.",
            pytrace=False,
        )


class JobRecorder:
    """`scontrol show job` every second while a run goes on: job id -> its last record."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, str]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.wait(1.0):
            self.snapshot()

    def snapshot(self) -> None:
        out = subprocess.run(["scontrol", "show", "job", "-o"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            record = dict(re.findall(r"(\w+)=(\S*)", line))
            if "JobId" in record:
                self.records[record["JobId"]] = record

    def __enter__(self) -> JobRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.snapshot()


def submitted(output: str, rule: str, kind: str = "rule") -> list[tuple[str, Path]]:
    """(SLURM job id, SLURM log) of every submission of `rule` (kind "rule") or of a bundle of
    group `rule` (kind "group"), in order, from Snakemake's output."""
    # the plugin names a bundle's log folder group_<group>_<its rules>, a job's rule_<rule>
    folder = re.compile(rf"/{kind}_{re.escape(rule)}{'(_[a-z_]+)?' if kind == 'group' else ''}/")
    return [(jobid, Path(log)) for jobid, log in SUBMITTED.findall(output) if folder.search(log)]


@pytest.fixture(scope="module")
def slurm_run(slurm, tmp_path_factory):
    workdir = workdir_with_config(tmp_path_factory.mktemp("slurm_run"))
    with JobRecorder() as jobs:
        result = snakemake(workdir, "results/boxplot.pdf", *SLURM_ARGS, timeout=3600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    return workdir, output, jobs.records


def test_every_job_went_through_slurm(slurm_run):
    workdir, output, records = slurm_run
    assert "workflow specific profile" in output and "profiles/slurm" in output
    assert "Provided resources: gpu" not in output  # no local GPU token caps the cluster
    # one bundle (profiles/slurm group-components) holds the 2 test tracks' separate and the
    # 4 evaluate jobs (umx-mr-0 and the oracle on each), one the tables and plots
    counts = {("demo_dataset", "rule"): 1, ("train", "rule"): 4, ("per_track", "group"): 1, ("report", "group"): 1}
    for (name, kind), count in counts.items():
        jobs = submitted(output, name, kind)
        assert len(jobs) == count, name
        assert all(records[jobid]["JobState"] == "COMPLETED" for jobid, _ in jobs)
    assert not submitted(output, "separate") and not submitted(output, "evaluate")
    for rule_log in ["logs/separate/umx-mr-0/demo-test-01.log", "logs/evaluate/umx-mr-0/demo-test-01.log",
                     "logs/evaluate/oracle/demo-test-01.log"]:  # bundled jobs keep their own logs (README)
        assert (workdir / rule_log).is_file(), rule_log
    assert (workdir / "results/boxplot.pdf").read_bytes().startswith(b"%PDF")


def test_training_jobs_asked_for_a_gpu_and_evaluation_did_not(slurm_run):
    workdir, output, records = slurm_run
    train_mb = split_mem_mb("train", workdir / "data" / "demo.manifest.json")  # the longest validation track
    for jobid, _ in submitted(output, "train"):
        job = records[jobid]
        assert job["Partition"] == "gpu"
        assert job.get("TresPerJob") == "gres:gpu:1"  # sbatch --gpus=1
        assert job["NumCPUs"] == "2" and job["MinMemoryNode"] == f"{train_mb}M" and job["TimeLimit"] == "12:00:00"
    # the bundle of separate + evaluate: the CPUs and memory of the members that can run at once
    (jobid, _), = submitted(output, "per_track", "group")
    job = records[jobid]
    assert job["Partition"] == "cpu" and "gpu" not in job.get("TresPerJob", "")
    assert int(job["NumCPUs"]) >= 2 and int(job["MinMemoryNode"].rstrip("M")) >= track_mem_mb("evaluate", 3.0)


def assert_same_training(summary: dict, reference: dict) -> None:
    for key in ("train_loss_history", "valid_loss_history"):
        assert summary[key] == pytest.approx(reference[key], rel=1e-6), key
    assert summary["best_epoch"] == reference["best_epoch"]
    assert summary["epochs_trained"] == reference["epochs_trained"]


def test_results_match_a_local_run_with_the_same_seed(slurm_run, finished_run):
    workdir, _, _ = slurm_run
    for target in TARGETS:
        summary, reference = (json.loads((run / f"results/umx-mr-0/{target}.json").read_text()) for run in (workdir, finished_run))
        assert_same_training(summary, reference)
    scores, reference = (pd.read_csv(run / "results/scores.csv") for run in (workdir, finished_run))
    # (umx-mr-0, oracle) x targets x tracks x (4 BSSEval metrics + uSDR)
    assert len(scores) == 2 * 4 * 2 * 5
    pd.testing.assert_frame_equal(scores, reference, check_exact=False, rtol=1e-6)


def test_the_profile_asks_slurm_to_signal_training_before_its_time_limit():
    # sbatch --signal=USR1@300: SIGUSR1 to the job's steps 300 s before the limit, as
    # `scancel --signal=USR1` sends it in the test below
    train = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())["set-resources"]["train"]
    assert train["slurm_extra"] == "'--signal=USR1@300'"
    seconds = int(re.search(r"USR1@(\d+)", train["slurm_extra"])[1])
    assert 0 < seconds < 60 * train["runtime"]


STOP_TARGET = "results/umx-mr-0/vocals.json"


def stop_config() -> dict:
    """The tiny test config with a training long enough to be stopped mid-run: epochs of a few
    hundred batches (at 4 excerpts per track an epoch took 0.1 s, and the stop signal could land
    after the training had ended), no early stop before the last epoch."""
    config = yaml.safe_load((ROOT / ".test" / "config.yaml").read_text())
    config["demo"]["overrides"]["train"].update(epochs=10, samples_per_track=64, patience=20)
    return config


@pytest.fixture(scope="module")
def uninterrupted_local(tmp_path_factory) -> dict:
    """The same training run locally without interruption: its summary JSON."""
    local = workdir_with_config(tmp_path_factory.mktemp("local"), stop_config())
    result = snakemake(local, STOP_TARGET)
    assert result.returncode == 0, result.stderr[-5000:]
    return json.loads((local / STOP_TARGET).read_text())


# scancel: SIGTERM, as at preemption; USR1: what --signal=USR1@300 sends ahead of the time limit
@pytest.mark.parametrize("stop", [["scancel"], ["scancel", "--signal=USR1"]], ids=["scancel", "usr1"])
def test_stopped_training_is_retried_and_resumes_from_its_checkpoint(slurm, tmp_path, stop, uninterrupted_local):
    target = STOP_TARGET
    workdir = workdir_with_config(tmp_path, stop_config())
    # the data and statistics locally: only the training and its seed selection go to SLURM
    prepared = snakemake(workdir, target, "--omit-from", "train")
    assert prepared.returncode == 0, prepared.stderr[-3000:]
    checkpoint = workdir / "resume/umx-mr-0/seeds/42/vocals.chkpnt"
    log = workdir / "snakemake.out"
    with log.open("w") as out:
        run = subprocess.Popen(snakemake_command(workdir, target, *SLURM_ARGS), stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 900
        while not checkpoint.exists():
            assert run.poll() is None, log.read_text()[-5000:]
            assert time.monotonic() < deadline, "no training checkpoint after 15 minutes"
            time.sleep(0.2)
        (cancelled, cancelled_log), = submitted(log.read_text(), "train")
        epoch = torch.load(checkpoint, weights_only=False)["epoch"]
        assert epoch < 10, "training ended before it could be cancelled"
        subprocess.run([*stop, cancelled], check=True)
        run.wait(timeout=1800)
    finally:
        if run.poll() is None:
            run.kill()
    output = log.read_text()
    assert run.returncode == 0, output[-5000:]
    jobs = submitted(output, "train")
    train_log = (workdir / "logs/train/umx-mr-0/seeds/42/vocals.log").read_text()
    interruptions = json.loads((workdir / target).read_text())["provenance"]["interruptions"]
    if "--signal=USR1" in stop:
        # the training caught it, saved after its batch and exited non-zero; the job's own
        # Snakemake ran it again (rule retries) in the same allocation, which went on from there
        assert [i["signal"] for i in interruptions] == ["SIGUSR1"]
        assert [jobid for jobid, _ in jobs] == [cancelled]
    else:  # killed: SLURM says so, Snakemake submits it again
        assert [jobid for jobid, _ in jobs][0] == cancelled and len(jobs) == 2
        assert f"SLURM-job '{cancelled}' failed, SLURM status is: 'CANCELLED'" in output
        assert cancelled_log.is_file()  # the failed job's SLURM log is kept
        assert [i["signal"] for i in interruptions] in (["SIGTERM"], [])  # [] where SIGKILL came first
    resumed = re.search(r"resuming vocals from \S+ after epoch (\d+)", train_log)
    assert resumed and epoch <= int(resumed[1]) < 10, train_log
    # the interrupted run ends where an uninterrupted local one does
    summary = json.loads((workdir / target).read_text())
    assert summary["epochs_trained"] > int(resumed[1])  # it went on after resuming
    assert_same_training(summary, uninterrupted_local)
