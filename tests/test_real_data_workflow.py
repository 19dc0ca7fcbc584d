"""The real-data parts of the workflow on tiny data: the Periphery conversion in the demo DAG,
umx-mr-6 training on the main split plus the converted songs, and a track-folder dataset."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from dataset_trees import write_track
from workflow_helpers import ROOT, snakemake, workdir_with_config


def job_counts(output: str) -> dict[str, int]:
    table = output[output.index("Job stats:") :].split("\n\n")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def test_default_demo_dag_converts_the_periphery_like_songs(tmp_path):
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    result = snakemake(workdir_with_config(tmp_path, config), "-n")
    assert result.returncode == 0, result.stdout + result.stderr
    counts = job_counts(result.stdout)
    assert counts["demo_periphery_raw"] == counts["periphery_convert"] == 1
    assert counts["dataset_manifest"] == 2  # data/demo and data/periphery


def test_umx_mr_0_does_not_need_the_periphery(tmp_path):
    result = snakemake(workdir_with_config(tmp_path), "-n", "results/umx-mr-0/vocals.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "periphery_convert" not in job_counts(result.stdout)


@pytest.mark.workflow
def test_umx_mr_6_trains_on_demo_and_converted_songs(tmp_path):
    workdir = workdir_with_config(tmp_path)
    result = snakemake(workdir, "results/umx-mr-6/vocals.json")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    conversion = json.loads((workdir / "data/periphery/conversion.json").read_text())
    assert conversion["songs"] == 2 and list(conversion["resampled"]) == ["Demo Song - Part 02"]
    periphery = json.loads((workdir / "data/periphery.manifest.json").read_text())
    assert periphery["summary"]["train"]["tracks"] == 2
    summary = json.loads((workdir / "results/umx-mr-6/vocals.json").read_text())
    assert summary["args"]["train"]["extra_datasets"] == ["periphery"]
    log = (workdir / "logs/train/umx-mr-6/seeds/42/vocals.log").read_text()
    # (2 demo train tracks + 2 converted songs) x samples_per_track 2; the valid track stays the demo's
    assert "8 train excerpts/epoch, 1 valid tracks" in log


FILES = {"mixture": "mix.flac", "vocals": "vox.wav", "drums": "drums.wav", "bass": "bass.flac", "other": "rest.wav"}


@pytest.mark.workflow
def test_trackfolder_dataset_is_evaluated_with_its_stem_names(tmp_path):
    """FLAC and WAV stems under their own names; the test track at 48 kHz, resampled once."""
    root = tmp_path / "mine"
    for i, (subset, name) in enumerate([("train", "a"), ("train", "b"), ("valid", "v"), ("test", "t")]):
        write_track(root / subset / name, i, seconds=2.0, files=FILES, rate=48000 if name == "t" else 44100)
    config = yaml.safe_load((ROOT / ".test" / "config.yaml").read_text())
    config["dataset"] = {"kind": "trackfolder", "root": str(root), "stems": FILES, "other_rates": "resample"}
    config["defaults"] = config["demo"]["overrides"]  # tiny training off the demo too
    workdir = workdir_with_config(tmp_path / "work", config)
    result = snakemake(workdir, "results/umx-mr-0/museval/t.json")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    scores = json.loads((workdir / "results/umx-mr-0/museval/t.json").read_text())
    assert {t["name"] for t in scores["targets"]} == {"vocals", "drums", "bass", "other"}
    resampled = json.loads((workdir / "data/44k/trackfolder/resampled.json").read_text())
    assert [x["track"] for x in resampled["tracks"]] == ["t"]
    manifest = json.loads((workdir / "data/trackfolder.manifest.json").read_text())
    assert manifest["splits"]["test"][0]["frames"] == 88200  # 2 s at 44.1 kHz
    assert manifest["splits"]["train"][0]["files"]["mixture"] == "mix.flac"
