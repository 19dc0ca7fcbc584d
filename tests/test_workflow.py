"""The workflow as a user runs it: lint, formatting, the DAG, and a real run on tiny data."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from workflow_helpers import ROOT, SNAKEMAKE, snakemake, workdir_with_config

TARGETS = ["vocals", "drums", "bass", "other"]
SUMMARY_KEYS = {
    "epochs_trained", "args", "best_loss", "best_epoch", "train_loss_history",
    "valid_loss_history", "train_time_history", "num_bad_epochs", "commit",
}


def test_lint_is_clean():
    result = subprocess.run([SNAKEMAKE, "--lint"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr


def test_snakefmt_is_clean():
    snakefmt = str(Path(sys.executable).with_name("snakefmt"))
    result = subprocess.run([snakefmt, "--check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def job_counts(output: str) -> dict[str, int]:
    table = output[output.index("Job stats:") :].split("\n\n")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def test_dry_run_of_the_full_demo_dag(tmp_path):
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    result = snakemake(workdir_with_config(tmp_path, config), "-n", "results/boxplot.pdf")
    assert result.returncode == 0, result.stderr
    n_test = config["demo"]["tracks"]["test"]
    counts = job_counts(result.stdout)
    assert counts["train"] == counts["select_seed"] == len(config["targets"]) * len(config["evaluation"]["variants"])
    assert counts["separate"] == counts["evaluate"] == n_test
    assert counts["demo_dataset"] == counts["dataset_manifest"] == counts["boxplot"] == 1


def test_one_model_builds_only_what_it_needs(tmp_path):
    result = snakemake(workdir_with_config(tmp_path), "-n", "results/umx-mr-0/vocals.json")
    assert result.returncode == 0, result.stderr
    assert job_counts(result.stdout) == {
        "demo_dataset": 1, "dataset_manifest": 1, "dataset_statistics": 1, "train": 1, "select_seed": 1, "total": 5
    }
    assert "wildcards: variant=umx-mr-0, seed=42, target=vocals" in result.stdout


def test_each_seed_is_its_own_job(tmp_path):
    config = yaml.safe_load((ROOT / ".test" / "config.yaml").read_text())
    config["variants"]["umx-mr-0"]["train"] = {"seeds": [3, 1, 2]}
    result = snakemake(workdir_with_config(tmp_path, config), "-n", "results/umx-mr-0/vocals.json")
    assert result.returncode == 0, result.stderr
    assert job_counts(result.stdout)["train"] == 3 and job_counts(result.stdout)["select_seed"] == 1
    for seed in (3, 1, 2):
        assert f"results/umx-mr-0/seeds/{seed}/vocals.pth" in result.stdout


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    workdir = workdir_with_config(tmp_path_factory.mktemp("run"))
    result = snakemake(workdir)  # the default target: everything a study delivers
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir


@pytest.mark.workflow
def test_models_and_summaries(finished_run):
    for target in TARGETS:
        summary = json.loads((finished_run / f"results/umx-mr-0/{target}.json").read_text())
        assert SUMMARY_KEYS <= set(summary)
        assert summary["epochs_trained"] == 2 == len(summary["train_loss_history"]) == len(summary["train_time_history"])
        assert all(math.isfinite(v) for v in summary["train_loss_history"] + summary["valid_loss_history"])
        assert summary["best_loss"] == min(summary["valid_loss_history"])
        assert summary["selected_seed"] == 42 and summary["seed_best_losses"] == {"42": summary["best_loss"]}
        provenance = summary["provenance"]
        assert {"config_hash", "commit", "versions", "device", "seed"} <= set(provenance)
        assert provenance["device"] == "cpu" and provenance["seed"] == 42
        assert {"torch", "numpy", "museval", "norbert", "musdb"} <= set(provenance["versions"])
        assert summary["args"]["target"] == target and summary["args"]["model"]["hidden_size"] == 8
        assert (finished_run / f"results/umx-mr-0/{target}.pth").stat().st_size > 0
    curves = (finished_run / "results/umx-mr-0/training_curves.pdf").read_bytes()
    assert curves.startswith(b"%PDF")
    log = (finished_run / "logs/train/umx-mr-0/seeds/42/vocals.log").read_text()
    assert re.search(r"epoch 2/2  train [0-9.]+  valid [0-9.]+", log), log
    separator = json.loads((finished_run / "results/umx-mr-0/separator.json").read_text())
    assert separator["nfft"] == 4096 and separator["niter"] == 1 and separator["targets"] == TARGETS


@pytest.mark.workflow
def test_estimates_are_real_audio(finished_run):
    manifest = json.loads((finished_run / "data/demo.manifest.json").read_text())
    for track in manifest["splits"]["test"]:
        mixture, rate = sf.read(Path(finished_run, track["folder"], "mixture.wav"))
        total = np.zeros_like(mixture)
        for target in TARGETS:
            estimate, est_rate = sf.read(finished_run / f"results/umx-mr-0/estimates/{track['name']}/{target}.wav")
            assert est_rate == rate == 44100 and estimate.shape == mixture.shape
            assert np.all(np.isfinite(estimate)) and np.abs(estimate).max() > 1e-4
            assert not np.allclose(estimate, mixture, atol=1e-3)
            total += estimate
        # Wiener estimates add up to the mixture (norbert's filter is conservative)
        assert np.abs(total - mixture).max() < 1e-2


@pytest.mark.workflow
def test_museval_scores_summary_and_plot(finished_run):
    tracks = sorted(p.stem for p in (finished_run / "results/umx-mr-0/museval").glob("*.json"))
    assert len(tracks) == 2
    museval_json = json.loads((finished_run / f"results/umx-mr-0/museval/{tracks[0]}.json").read_text())
    assert {t["name"] for t in museval_json["targets"]} == set(TARGETS)
    assert set(museval_json["targets"][0]["frames"][0]["metrics"]) == {"SDR", "SIR", "SAR", "ISR"}
    scores = pd.read_csv(finished_run / "results/scores.csv")
    assert set(scores.columns) >= {"variant", "target", "track", "metric", "score"}
    assert len(scores) == 1 * 4 * 2 * 4 and scores["score"].notna().all()
    assert np.isfinite(scores["score"]).all()
    summary = pd.read_csv(finished_run / "results/summary.csv")
    assert len(summary) == 4 * 4
    pdf = (finished_run / "results/boxplot.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and b"/Type /Page" in pdf
