"""MUSDB18 as released (*.stem.mp4): decoded once into MUSDB18-HQ layout, then the same checks
and musdb's split. The stem files are made here by ffmpeg from tones, in MUSDB18's stream
order (0 mixture, 1 drums, 2 bass, 3 other, 4 vocals), with a mixture that is not the sum of
the stems, so the test can tell which stream landed where."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import soundfile as sf
from dataset_trees import MUSDB_VALID
from workflow_helpers import ROOT, snakemake, workdir_with_config

from umxmr.data.layout import DatasetError, list_test_tracks, scan_dataset
from umxmr.data.stems import decode_musdb18

RATE = 44100
TONES = {"drums": 300.0, "bass": 600.0, "other": 1200.0, "vocals": 2400.0}  # Hz, one per stream
STREAMS = ("mixture", "drums", "bass", "other", "vocals")
MIX_GAIN = 0.5  # the released mixture stream differs from the sum of the stems


def make_stem_mp4(path, seconds=0.5, shorter=None):
    """A .stem.mp4 of AAC streams in MUSDB18's order; `shorter` (stem, samples) cuts one stream."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    audio = {s: np.stack([0.2 * np.sin(2 * np.pi * f * t)] * 2, 1) for s, f in TONES.items()}
    audio["mixture"] = MIX_GAIN * sum(audio.values())
    if shorter:
        audio[shorter[0]] = audio[shorter[0]][: -shorter[1]]
    wavs = []
    for s in STREAMS:
        wav = path.parent / f".{path.name}.{s}.wav"
        sf.write(wav, audio[s], RATE, subtype="PCM_16")
        wavs.append(wav)
    inputs = [arg for w in wavs for arg in ("-i", str(w))]
    maps = [arg for i in range(5) for arg in ("-map", f"{i}:a")]
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *inputs, *maps, "-c:a", "aac", "-b:a", "96k", str(path)], check=True)
    for w in wavs:
        w.unlink()


def musdb18_tree(root, shorter=None):
    for subset, name in (("train", "Train Artist - Song 0"), ("train", MUSDB_VALID[0]), ("test", "Test Artist - Song 0")):
        (root / subset).mkdir(parents=True, exist_ok=True)
        make_stem_mp4(root / subset / f"{name}.stem.mp4", shorter=shorter if subset == "test" else None)
    return root


def dominant(x):
    spectrum = np.abs(np.fft.rfft(x[:, 0]))
    return np.fft.rfftfreq(len(x), 1 / RATE)[np.argmax(spectrum)]


@pytest.fixture(scope="module")
def decoded(tmp_path_factory):
    root = musdb18_tree(tmp_path_factory.mktemp("musdb18") / "musdb18", shorter=("vocals", 3000))
    cache = root.parent / "data" / "decoded" / "musdb18"
    return root, cache, decode_musdb18(root, cache)


def test_streams_land_in_musdb18hq_layout_in_order(decoded):
    _, cache, report = decoded
    track = cache / "train" / "Train Artist - Song 0"
    assert sorted(p.name for p in track.iterdir()) == sorted(f"{s}.wav" for s in STREAMS)
    for stem, tone in TONES.items():
        assert abs(dominant(sf.read(track / f"{stem}.wav")[0]) - tone) < 5, stem
    # the mixture is stream 0 as musdb reads it (MIX_GAIN x the sum here), not the sum of the stems
    mixture = sf.read(track / "mixture.wav")[0]
    stems = sum(sf.read(track / f"{s}.wav")[0] for s in TONES)
    assert np.linalg.norm(mixture - MIX_GAIN * stems) < 0.1 * np.linalg.norm(mixture - stems)
    assert report["mixture"].startswith("stream 0") and report["streams"] == dict(zip(STREAMS, range(5)))
    assert report["bytes"] == sum(p.stat().st_size for p in cache.rglob("*.wav"))
    assert json.loads((cache / "decoded.json").read_text()) == report


def test_streams_of_unequal_length_are_cut_to_the_shortest(decoded):
    _, cache, report = decoded
    test = next(t for t in report["tracks"] if t["subset"] == "test")
    assert set(test["cut"]) == {"mixture", "drums", "bass", "other"} and len(set(test["cut"].values())) == 1
    lengths = {sf.info(cache / "test" / test["track"] / f"{s}.wav").frames for s in STREAMS}
    assert lengths == {test["frames"]}
    train = next(t for t in report["tracks"] if t["subset"] == "train")
    assert train["cut"] == {}


def test_decoded_cache_gets_musdbs_checks_and_split(decoded):
    root, cache, _ = decoded
    tracks = scan_dataset("musdb18", root, {"decoded": str(cache)})
    assert [t.name for t in tracks["valid"]] == [MUSDB_VALID[0]]
    assert [t.name for t in tracks["train"]] == ["Train Artist - Song 0"]
    assert [t.name for t in tracks["test"]] == list_test_tracks(root, "musdb18") == ["Test Artist - Song 0"]


def test_a_root_without_stem_files_says_what_it_should_hold(tmp_path):
    (tmp_path / "hq" / "train" / "a").mkdir(parents=True)
    (tmp_path / "hq" / "test" / "b").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"train: no \*.stem.mp4 files in it; .*use dataset.kind: musdb18hq"):
        decode_musdb18(tmp_path / "hq", tmp_path / "out")
    with pytest.raises(DatasetError, match=r"train/train: missing; a MUSDB18 folder holds train/ and test/.*looks like a train/ or test/ folder itself"):
        list_test_tracks(tmp_path / "hq" / "train", "musdb18")


def test_workflow_decodes_once_before_the_manifest(tmp_path):
    import yaml

    root = musdb18_tree(tmp_path / "musdb18")
    config = yaml.safe_load((ROOT / ".test" / "config.yaml").read_text())
    config["dataset"] = {"kind": "musdb18", "root": str(root)}
    workdir = workdir_with_config(tmp_path / "work", config)
    result = snakemake(workdir, "data/musdb18.manifest.json")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    manifest = json.loads((workdir / "data" / "musdb18.manifest.json").read_text())
    assert manifest["splits"]["test"][0]["folder"] == "data/decoded/musdb18/test/Test Artist - Song 0"
    assert "stream 0" in json.loads((workdir / "data/decoded/musdb18/decoded.json").read_text())["mixture"]
    assert {s: manifest["summary"][s]["tracks"] for s in ("train", "valid", "test")} == {"train": 1, "valid": 1, "test": 1}
