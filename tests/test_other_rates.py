"""A track-folder dataset in FLAC or at another sample rate: FLAC is read as it is; other
rates are refused, or, with dataset.other_rates: resample, resampled once (soxr) into a
cache that the manifest lists instead of the original tracks."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from dataset_trees import write_track

from umxmr.data.audio import read_audio
from umxmr.data.layout import DatasetError, scan_dataset, write_manifest
from umxmr.data.resample import resample_tree

FLAC = {"mixture": "mix.flac", "vocals": "vox.flac", "drums": "drums.flac", "bass": "bass.flac", "other": "other.wav"}


def tree(root, test_rate=44100):
    write_track(root / "train" / "a", 1, seconds=0.5, files=FLAC)
    write_track(root / "valid" / "v", 2, seconds=0.5, files=FLAC)
    write_track(root / "test" / "t", 3, seconds=0.5, files=FLAC, rate=test_rate)
    return root


def test_flac_stems_are_read_as_they_are(tmp_path):
    root = tree(tmp_path / "mine")
    tracks = scan_dataset("trackfolder", root, {"stems": FLAC})
    a = tracks["train"][0]
    assert a.path("mixture").suffix == ".flac" and a.frames == sf.info(a.path("mixture")).frames == 22050
    np.testing.assert_array_equal(read_audio(a.path("vocals")), sf.read(a.path("vocals"), dtype="float32")[0])


def test_other_rates_are_refused_by_default_naming_the_key(tmp_path):
    root = tree(tmp_path / "mine", test_rate=48000)
    with pytest.raises(DatasetError, match=r"t/mix.flac: sample rate 48000 Hz, expected 44100 Hz; .*set dataset.other_rates: resample"):
        scan_dataset("trackfolder", root, {"stems": FLAC})


def test_other_rates_resampled_once_into_a_cache(tmp_path):
    root = tree(tmp_path / "mine", test_rate=48000)
    t = root / "test" / "t"
    tone = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(24000) / 48000)
    sf.write(t / "vox.flac", np.stack([tone, tone], 1), 48000, subtype="PCM_24")
    cache = tmp_path / "data" / "44k" / "trackfolder"
    report = resample_tree(root, FLAC, cache)
    assert [(x["subset"], x["track"], set(x["rates"].values())) for x in report["tracks"]] == [("test", "t", {48000})]
    assert report["bytes"] == sum(p.stat().st_size for p in cache.rglob("*.wav")) > 0
    assert json.loads((cache / "resampled.json").read_text()) == report
    tracks = scan_dataset("trackfolder", root, {"stems": FLAC, "resampled": str(cache)})
    test = tracks["test"][0]
    assert test.folder == str(cache / "test" / "t") and test.rate == 44100
    assert test.frames == sf.info(test.path("mixture")).frames == 22050  # 0.5 s at 44.1 kHz
    assert tracks["train"][0].folder == str(root / "train" / "a")  # 44.1 kHz tracks stay where they are
    # the tone is still a 1 kHz tone at 44.1 kHz (independent of soxr: the analytic signal)
    vocals = read_audio(test.path("vocals"), dtype="float64")[:, 0]
    expected = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(22050) / 44100)
    np.testing.assert_allclose(vocals[500:-500], expected[500:-500], atol=1e-3)
    write_manifest(tmp_path / "m.json", "trackfolder", root, tracks)
    assert json.loads((tmp_path / "m.json").read_text())["splits"]["test"][0]["folder"] == str(cache / "test" / "t")
