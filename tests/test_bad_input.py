"""Bad input stops the workflow before any training, naming the path, file or key."""

from __future__ import annotations

import re
import shutil

import pytest
import yaml

from umxmr.data.demo import generate_demo
from umxmr.data.layout import DatasetError, check_track, scan_musdb_layout
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


@pytest.fixture(scope="module")
def demo_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "musdb"
    generate_demo(root, n_train=2, n_valid=1, n_test=1, duration=2.0, seed=3)
    return root


def broken_copy(demo_tree, tmp_path):
    root = tmp_path / "musdb"
    shutil.copytree(demo_tree, root)
    return root


def test_track_without_vocals_stops_before_training(tmp_path):
    config = tiny_config()
    workdir = workdir_with_config(tmp_path, config)
    demo = config["demo"]
    generate_demo(
        workdir / "data" / "demo",
        n_train=demo["tracks"]["train"],
        n_valid=demo["tracks"]["valid"],
        n_test=demo["tracks"]["test"],
        duration=demo["duration"],
        seed=demo["seed"],
    )
    missing = workdir / "data" / "demo" / "train" / "demo-train-01" / "vocals.wav"
    missing.unlink()
    result = snakemake(workdir, "results/umx-mr-0/vocals.json")
    assert result.returncode != 0
    log = (workdir / "logs" / "data" / "demo.manifest.log").read_text()
    assert "missing stem 'vocals.wav'" in log and "demo-train-01/vocals.wav" in log
    assert not (workdir / "logs" / "train").exists()
    assert not (workdir / "data" / "demo.manifest.json").exists()


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: p.write_bytes(b"RIFF0000WAVEjunk"), "not a readable WAV file"),
        (lambda p: _rewrite(p, rate=48000), "sample rate 48000 Hz, expected 44100 Hz"),
        (lambda p: _rewrite(p, mono=True), "1 channel(s), expected stereo"),
        (lambda p: _rewrite(p, crop=100), "frames, but"),
    ],
)
def test_check_track_names_the_bad_file(demo_tree, tmp_path, damage, message):
    root = broken_copy(demo_tree, tmp_path)
    bad = root / "test" / "demo-test-01" / "bass.wav"
    damage(bad)
    with pytest.raises(DatasetError, match=re.escape(message)) as err:
        check_track(bad.parent, "test")
    assert str(bad) in str(err.value)


def test_missing_root_and_layout(tmp_path, demo_tree):
    with pytest.raises(DatasetError, match="does not exist"):
        scan_musdb_layout(tmp_path / "nope")
    root = broken_copy(demo_tree, tmp_path)
    shutil.rmtree(root / "test")
    with pytest.raises(DatasetError, match="test: missing"):
        scan_musdb_layout(root, "setup.yaml")


def _rewrite(path, rate=None, mono=False, crop=0):
    import soundfile as sf

    audio, sr = sf.read(path)
    if mono:
        audio = audio[:, 0]
    if crop:
        audio = audio[:-crop]
    sf.write(path, audio, rate or sr, subtype="PCM_16")
