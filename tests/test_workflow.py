"""The workflow as a user runs it: lint, formatting, the DAG, and a real run on tiny data."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from test_summary_table import assert_every_published_row_is_sourced
from umxmr.settings import evaluation_variants
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
    assert result.returncode == 0, result.stdout + result.stderr
    n_test = config["demo"]["tracks"]["test"]
    counts = job_counts(result.stdout)
    variants = evaluation_variants(config)
    # separation-only variants (models_from) reuse another variant's models
    trained = {config["variants"][v].get("models_from", v) for v in variants}
    assert counts["train"] == counts["select_seed"] == len(config["targets"]) * len(trained)
    assert counts["separate"] == n_test * len(variants)
    assert counts["evaluate"] == n_test * (len(variants) + 1)  # the variants and the phase-mix oracle
    assert counts["demo_dataset"] == counts["dataset_manifest"] == counts["boxplot"] == 1


def test_full_dag_has_oracle_comparison_and_report_pages(tmp_path):
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    result = snakemake(workdir_with_config(tmp_path, config), "-n")
    assert result.returncode == 0, result.stderr
    n_test = config["demo"]["tracks"]["test"]
    counts = job_counts(result.stdout)
    assert counts["oracle_estimates"] == n_test
    assert counts["evaluate"] == counts["evaluate_sdr"] == n_test * (len(evaluation_variants(config)) + 1)
    assert counts["metric_boxplot"] == 4
    assert counts["compare"] == counts["training_curves"] == counts["config_page"] == 1


def test_one_model_builds_only_what_it_needs(tmp_path):
    result = snakemake(workdir_with_config(tmp_path), "-n", "results/umx-mr-0/vocals.json")
    assert result.returncode == 0, result.stdout + result.stderr
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
    # what produced the estimates: the run, the device, each model's seed, the Wiener settings
    record = museval_json["provenance"]
    assert record["device"] == "cpu" and record["seed"] == dict.fromkeys(TARGETS, 42)
    assert (record["niter"], record["residual"], record["wiener_win_len"]) == (1, False, 300)
    assert len(record["config_hash"]) == 12 and record["commit"]
    assert all(record["versions"][p] != "absent" for p in ("torch", "numpy", "museval", "norbert", "musdb"))
    oracle_json = json.loads((finished_run / f"results/oracle-phasemix/museval/{tracks[0]}.json").read_text())
    assert oracle_json["provenance"]["seed"] is None and oracle_json["provenance"]["niter"] == 0
    scores = pd.read_csv(finished_run / "results/scores.csv")
    assert set(scores.columns) >= {"variant", "target", "track", "metric", "score"}
    # umx-mr-0 and the oracle pseudo-variant, 4 targets, 2 tracks, 4 metrics and the global SDR
    assert list(pd.unique(scores["variant"])) == ["umx-mr-0", "oracle (phase-mix 4096)"]
    assert len(scores) == 2 * 4 * 2 * 5 and scores["score"].notna().all()
    assert np.isfinite(scores["score"]).all()
    # the SDR path's file beside museval's: the same SDR (museval's JSON rounds to 5 decimals)
    for variant in ("umx-mr-0", "oracle-phasemix"):
        full = json.loads((finished_run / f"results/{variant}/museval/{tracks[0]}.json").read_text())
        fast = json.loads((finished_run / f"results/{variant}/sdr/{tracks[0]}.json").read_text())
        assert fast["metrics"] == ["SDR"] and set(fast["uSDR"]) == set(TARGETS)
        for a, b in zip(full["targets"], fast["targets"]):
            assert a["name"] == b["name"]
            x = np.array([f["metrics"]["SDR"] for f in a["frames"]], dtype=float)
            y = np.array([f["metrics"]["SDR"] for f in b["frames"]], dtype=float)
            np.testing.assert_allclose(y, x, atol=1.1e-5)
    summary = pd.read_csv(finished_run / "results/summary.csv", dtype=str)
    assert len(summary) == 2 * 4 * 5
    assert set(summary.loc[summary.variant == "umx-mr-0", "seed"]) == {"42"}
    assert set(summary["commit"]) == {record["commit"]} and set(summary["museval"]) == {record["versions"]["museval"]}
    summary["score"] = summary["score"].astype(float)
    sdr = summary[summary.metric == "SDR"].pivot(index="target", columns="variant", values="score")
    assert (sdr["oracle (phase-mix 4096)"] > sdr["umx-mr-0"]).all()  # the phase-mix oracle, far above a 2-epoch model
    for name in ["boxplot.pdf", *(f"boxplot_{m}.pdf" for m in ("SDR", "SIR", "SAR", "ISR"))]:
        pdf = (finished_run / "results" / name).read_bytes()
        assert pdf.startswith(b"%PDF") and b"/Type /Page" in pdf


@pytest.mark.workflow
def test_comparison_and_summary_tables(finished_run):
    comparison = pd.read_csv(finished_run / "results/comparison.csv")
    assert list(comparison["target"]) == TARGETS
    assert set(comparison["variant"]) == {"oracle (phase-mix 4096)"} and set(comparison["baseline"]) == {"umx-mr-0"}
    assert (comparison["n_tracks"] == 2).all() and comparison["wilcoxon_p"].isna().all()
    assert comparison["note"].str.contains("too few").all()
    summary_md = (finished_run / "results/summary.md").read_text()
    assert "| oracle (phase-mix 4096) |" in summary_md
    assert_every_published_row_is_sourced(summary_md, (finished_run / "results/report/summary.html").read_text())
    assert "Metrics computed: SDR, SIR, SAR, ISR, and uSDR (global SDR)." in summary_md
    provenance = summary_md[summary_md.index("## Provenance") :].splitlines()
    row = next(line for line in provenance if line.startswith("| umx-mr-0 |")).split(" | ")
    assert row[3:7] == ["cpu", "42", "1", "False"]  # device, seed, niter, residual


@pytest.mark.workflow
def test_oracle_search_files_and_their_provenance(finished_run):
    search = pd.read_csv(finished_run / "results/oracle/search_42.csv")
    assert list(search.columns) == ["window", "hop", "draws", *TARGETS, "total"] and search["draws"].sum() == 4
    assert (search["hop"] == search["window"] - search["window"] // 4).all()
    best = json.loads((finished_run / "results/oracle/best.json").read_text())
    assert best["single"]["window"] in set(search["window"]) and set(best["per_target"]) == set(TARGETS)
    record = best["provenance"]
    assert record["seed"] == [42] and record["device"] == "cpu" and len(record["config_hash"]) == 12
    assert record["versions"]["numpy"] != "absent"
    assert (finished_run / "results/oracle/sdr_vs_window.pdf").read_bytes().startswith(b"%PDF")
    notes = (finished_run / "results/oracle/notes_comparison.md").read_text()
    assert "| notes: MUSDB18-HQ, 14 validation tracks |" in notes and f"@ {best['single']['window']} |" in notes


@pytest.mark.workflow
def test_report_builds_with_plots_tables_curves_and_config(finished_run):
    result = snakemake(finished_run, "--report", "results/report.html")
    assert result.returncode == 0, result.stderr[-3000:]
    report = (finished_run / "results/report.html").read_text()
    for name in ("boxplot_SDR.svg", "boxplot_ISR.svg", "summary.html", "scores.csv", "training_curves.svg", "seed_spread.svg", "config.html",
                 "listening.html", "demo-test-01.html", "demo-test-02.html"):
        assert name in report
    for caption in ("not a bound", "Wilcoxon", "Training (dashed)", "ringed", "resolved", "phase-mix oracle",
                    "Listening page of test track", "What this report compares"):
        assert caption in report


@pytest.mark.workflow
def test_listening_pages_of_the_tiny_run(finished_run):
    """report.listening defaults: the first two test tracks; 3 s tracks, so each excerpt is the
    whole track (3 museval frames); one variant + the oracle = 3 players per target + the mixture."""
    for track in ("demo-test-01", "demo-test-02"):
        page = (finished_run / f"results/report/listening/{track}.html").read_text()
        assert page.count("<audio ") == page.count("<img ") == 1 + 3 * len(TARGETS)
        assert page.count("data:audio/flac;base64,") == 1 + 3 * len(TARGETS)
        record = json.loads((finished_run / f"results/report/listening/{track}.json").read_text())
        assert record["excerpt"]["first"] == 0 and record["excerpt"]["n_frames"] == 3
        scores = json.loads((finished_run / f"results/umx-mr-0/museval/{track}.json").read_text())
        for entry in scores["targets"]:
            sdrs = [f["metrics"]["SDR"] for f in entry["frames"]]
            assert record["sdr"]["umx-mr-0"][entry["name"]] == pytest.approx(float(np.nanmedian(np.array(sdrs, float))))
    index = (finished_run / "results/report/listening.html").read_text()
    assert "demo-test-01" in index and "demo-test-02" in index
    # a changed score of one track rebuilds that track's page and the index, not the other page
    result = snakemake(finished_run, "-n", "--forcerun", "results/umx-mr-0/museval/demo-test-01.json")
    assert result.returncode == 0, result.stderr[-3000:]
    assert job_counts(result.stdout)["listening_page"] == 1 and job_counts(result.stdout)["listening_index"] == 1
    assert "wildcards: track=demo-test-01" in result.stdout.split("rule listening_page:")[1].split("\n\n")[0]
