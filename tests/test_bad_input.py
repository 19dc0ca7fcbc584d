"""Bad input stops the workflow before any training, naming the path, file or key."""

from __future__ import annotations

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
    assert f"dataset.root '{tmp_path / 'no-such-musdb'}'" in result.stderr
    assert "train" not in result.stdout.split("Job stats")[-1]


def test_config_typo_names_the_key_and_allowed_values(tmp_path):
    config = tiny_config()
    config["variants"]["umx-mr-0"]["model"] = {"rnn": "lstmm"}
    result = snakemake(workdir_with_config(tmp_path, config), "-n")
    assert result.returncode != 0
    assert "variants.umx-mr-0.model.rnn: 'lstmm' is not allowed; allowed values: lstm, gru" in result.stderr


@pytest.fixture(scope="module")
def demo_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "musdb"
    generate_demo(root, n_train=2, n_valid=1, n_test=1, duration=2.0, seed=3)
    return root


def broken_copy(demo_tree, tmp_path):
    root = tmp_path / "musdb"
    shutil.copytree(demo_tree, root)
    return root


def test_track_without_vocals_stops_before_training(demo_tree, tmp_path):
    root = broken_copy(demo_tree, tmp_path)
    missing = root / "train" / "demo-train-01" / "vocals.wav"
    missing.unlink()
    config = tiny_config()
    config["dataset"] = {"kind": "musdb18hq", "root": str(root)}
    # MUSDB18-HQ's own validation split lists real track names; give the demo's setup file to musdb
    shutil.copy(root / "setup.yaml", root / "setup.yaml.bak")
    workdir = workdir_with_config(tmp_path / "work", config)
    result = snakemake(workdir, "results/umx-mr-0/vocals.json")
    assert result.returncode != 0
    assert f"{missing}: missing stem 'vocals.wav'" in result.stderr + (workdir / "logs/data/musdb18hq.manifest.log").read_text()
    assert not (workdir / "logs" / "train").exists()
    assert not (workdir / "data" / "musdb18hq.manifest.json").exists()


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
    with pytest.raises(DatasetError, match=message) as err:
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
