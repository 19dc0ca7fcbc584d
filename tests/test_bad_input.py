"""Bad input stops the workflow before any training, naming the path, file or key.

Snakemake 9 prints errors raised while it parses the workflow on stdout, those of a failed
job in the job's log: the tests look in both.
"""

from __future__ import annotations

import yaml

from dataset_trees import MUSDB_VALID, musdb_tree
from workflow_helpers import ROOT, snakemake, workdir_with_config


def tiny_config() -> dict:
    return yaml.safe_load((ROOT / ".test" / "config.yaml").read_text())


def test_missing_dataset_root_is_named_before_any_job(tmp_path):
    config = tiny_config()
    config["dataset"] = {"kind": "musdb18hq", "root": str(tmp_path / "no-such-musdb")}
    result = snakemake(workdir_with_config(tmp_path, config), "-n", "results/boxplot.pdf")
    assert result.returncode != 0
    assert f"dataset.root '{tmp_path / 'no-such-musdb'}'" in result.stdout + result.stderr
    assert "Job stats" not in result.stdout


def test_config_typo_names_the_key_and_allowed_values(tmp_path):
    config = tiny_config()
    config["variants"]["umx-mr-0"]["model"] = {"rnn": "lstmm"}
    result = snakemake(workdir_with_config(tmp_path, config), "-n")
    assert result.returncode != 0
    assert "variants.umx-mr-0.model.rnn: 'lstmm' is not allowed; allowed values: lstm, gru" in result.stdout + result.stderr


def test_musdb18hq_track_without_vocals_stops_before_training(tmp_path):
    root = musdb_tree(tmp_path / "musdb18hq", n_train=2, n_valid=1, n_test=1, seconds=2.0)
    missing = root / "train" / MUSDB_VALID[0] / "vocals.wav"
    missing.unlink()
    config = tiny_config()
    config["dataset"] = {"kind": "musdb18hq", "root": str(root)}
    workdir = workdir_with_config(tmp_path / "work", config)
    result = snakemake(workdir, "results/umx-mr-0/vocals.json")
    assert result.returncode != 0
    log = (workdir / "logs/data/musdb18hq.manifest.log").read_text()
    assert f"{missing}: missing stem 'vocals.wav'" in log
    assert not (workdir / "logs" / "train").exists()
    assert not (workdir / "data" / "musdb18hq.manifest.json").exists()


def test_musdb18hq_manifest_of_a_good_tree(tmp_path):
    root = musdb_tree(tmp_path / "musdb18hq", n_train=2, n_valid=1, n_test=1, seconds=2.0)
    config = tiny_config()
    config["dataset"] = {"kind": "musdb18hq", "root": str(root)}
    workdir = workdir_with_config(tmp_path / "work", config)
    result = snakemake(workdir, "data/musdb18hq.manifest.json")
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = yaml.safe_load((workdir / "data" / "musdb18hq.manifest.json").read_text())
    assert {s: v["tracks"] for s, v in manifest["summary"].items()} == {"train": 2, "valid": 1, "test": 1}


def test_empty_dataset_root_says_what_it_should_hold_before_any_job(tmp_path):
    (tmp_path / "musdb18hq").mkdir()
    config = tiny_config()
    config["dataset"] = {"kind": "musdb18hq", "root": str(tmp_path / "musdb18hq")}
    result = snakemake(workdir_with_config(tmp_path, config), "-n", "results/boxplot.pdf")
    assert result.returncode != 0
    assert f"dataset.root '{tmp_path / 'musdb18hq'}' is an empty folder; it should hold train/ and test/" in result.stdout + result.stderr
