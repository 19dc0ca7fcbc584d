"""Periphery stems (song folders of free-form stem WAVs) converted to MUSDB layout."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from dataset_trees import noise
from umxmr.data.demo import PERIPHERY_STEMS, generate_periphery_raw, render_track
from umxmr.data.layout import DatasetError, scan_dataset
from umxmr.data.periphery import DEFAULT_MAPPING, classify, convert_periphery, musdb_folder_name

SONG = {  # stem file -> seed; "Bass Drum Mic" matches drum and bass: ambiguous, the first key wins
    "Drums.wav": 1,
    "Bass DI.wav": 2,
    "Lead Vocals.wav": 3,
    "Rhythm Guitars.wav": 4,
    "Synths, Strings and Subs.wav": 5,
    "Mics/Bass Drum Mic.wav": 6,
}


def raw_song(folder, rate=44100, seconds=1.0, lengths=None, level=0.1):
    """A song folder; returns the float audio each stem file holds."""
    written = {}
    for name, seed in SONG.items():
        frames = (lengths or {}).get(name, int(seconds * rate))
        audio = noise(seed, frames, level=level)
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, audio, rate, subtype="FLOAT")
        written[name] = audio
    return written


def read(path):
    audio, rate = sf.read(path, always_2d=True)
    assert rate == 44100
    return audio


def test_classify_by_lowercased_substring():
    assert classify("Drums.wav", DEFAULT_MAPPING) == ("drums", ["drums"])
    assert classify("Bass DI.wav", DEFAULT_MAPPING) == ("bass", ["bass"])
    assert classify("Lead Vocals.wav", DEFAULT_MAPPING) == ("vocals", ["vocals"])
    assert classify("Synths, Strings and Subs.wav", DEFAULT_MAPPING) == ("other", [])
    assert classify("Bass Drum.wav", DEFAULT_MAPPING) == ("drums", ["drums", "bass"])
    assert classify("Bass Drum.wav", {"bass": "bass", "drum": "drums"}) == ("bass", ["bass", "drums"])
    assert musdb_folder_name("Marigold - Live Take") == "Marigold___Live_Take"


def test_song_converted_with_report(tmp_path):
    raw = tmp_path / "raw"
    one = raw_song(raw / "Song One - Mix")
    raw_song(raw / "Song Two", rate=48000)
    summary = convert_periphery(raw, tmp_path / "periphery")
    out = tmp_path / "periphery" / "train" / "Song_One___Mix"
    assert sorted(p.name for p in out.iterdir()) == ["bass.wav", "drums.wav", "mixture.wav", "other.wav", "vocals.wav"]
    np.testing.assert_allclose(read(out / "drums.wav"), one["Drums.wav"] + one["Mics/Bass Drum Mic.wav"], atol=1e-6)
    np.testing.assert_allclose(read(out / "bass.wav"), one["Bass DI.wav"], atol=1e-7)
    np.testing.assert_allclose(read(out / "vocals.wav"), one["Lead Vocals.wav"], atol=1e-7)
    np.testing.assert_allclose(
        read(out / "other.wav"), one["Rhythm Guitars.wav"] + one["Synths, Strings and Subs.wav"], atol=1e-6
    )
    stems = sum(read(out / f"{s}.wav") for s in ("drums", "bass", "other", "vocals"))
    np.testing.assert_allclose(read(out / "mixture.wav"), stems, atol=1e-6)

    report = json.loads((tmp_path / "periphery" / "conversion.json").read_text())
    assert report == json.loads(json.dumps(summary))
    assert report["unmatched"]["Song One - Mix"] == ["Rhythm Guitars.wav", "Synths, Strings and Subs.wav"]
    assert report["ambiguous"]["Song One - Mix"] == [
        {"stem": "Mics/Bass Drum Mic.wav", "targets": ["drums", "bass"], "chosen": "drums"}
    ]
    assert report["resampled"] == {"Song Two": sorted(SONG)}
    assert report["clipping"] == {} and report["padded"] == {}

    resampled = read(tmp_path / "periphery" / "train" / "Song_Two" / "bass.wav")
    assert resampled.shape == (44100, 2)

    tracks = scan_dataset("periphery", tmp_path / "periphery")
    assert [t.name for t in tracks["train"]] == ["Song_One___Mix", "Song_Two"]
    assert tracks["valid"] == tracks["test"] == []


def test_resampling_keeps_a_tone(tmp_path):
    t48, t44 = np.arange(48000) / 48000, np.arange(44100) / 44100
    tone = 0.5 * np.sin(2 * np.pi * 440 * t48)
    (tmp_path / "raw" / "Song").mkdir(parents=True)
    sf.write(tmp_path / "raw" / "Song" / "Bass.wav", np.stack([tone, -tone], axis=1), 48000, subtype="FLOAT")
    convert_periphery(tmp_path / "raw", tmp_path / "out")
    bass = read(tmp_path / "out" / "train" / "Song" / "bass.wav")
    expected = 0.5 * np.sin(2 * np.pi * 440 * t44)
    inner = slice(1000, -1000)  # the filter's edges
    np.testing.assert_allclose(bass[inner, 0], expected[inner], atol=2e-3)
    np.testing.assert_allclose(bass[inner, 1], -expected[inner], atol=2e-3)


def test_other_rates_refused_when_configured(tmp_path):
    raw_song(tmp_path / "raw" / "Song", rate=48000)
    with pytest.raises(DatasetError, match="sample rate 48000 Hz, expected 44100 Hz.*other_rates: resample") as err:
        convert_periphery(tmp_path / "raw", tmp_path / "out", other_rates="refuse")
    assert str(tmp_path / "raw" / "Song") in str(err.value)
    assert not (tmp_path / "out").exists()


def test_unequal_lengths_padded_or_refused(tmp_path):
    raw_song(tmp_path / "raw" / "Song", lengths={"Drums.wav": 44000})
    summary = convert_periphery(tmp_path / "raw", tmp_path / "padded")
    assert summary["padded"] == {"Song": {"Drums.wav": 100}}
    drums = read(tmp_path / "padded" / "train" / "Song" / "drums.wav")
    assert drums.shape == (44100, 2)
    np.testing.assert_array_equal(drums[44000:], read(tmp_path / "raw" / "Song" / "Mics" / "Bass Drum Mic.wav")[44000:].astype(np.float32))
    with pytest.raises(DatasetError, match=r"Song: stems of unequal length.*Drums.wav: 44000.*unequal_lengths: pad"):
        convert_periphery(tmp_path / "raw", tmp_path / "refused", unequal_lengths="refuse")


def test_clipping_is_reported(tmp_path):
    raw_song(tmp_path / "raw" / "Loud", level=0.6)  # six stems of up to 0.6: the mixture exceeds full scale
    summary = convert_periphery(tmp_path / "raw", tmp_path / "out")
    assert "mixture" in summary["clipping"]["Loud"]
    assert summary["tracks"][0]["peaks"]["mixture"] > 1.0
    # float output: the mixture is still the exact sum, nothing was cut
    assert np.max(np.abs(read(tmp_path / "out" / "train" / "Loud" / "mixture.wav"))) > 1.0


def test_mapping_is_a_config_value(tmp_path):
    raw_song(tmp_path / "raw" / "Song")
    summary = convert_periphery(tmp_path / "raw", tmp_path / "out", mapping={"vocal": "vocals", "di": "bass", "drum": "drums"})
    assert summary["tracks"][0]["stems"]["Mics/Bass Drum Mic.wav"]["target"] == "drums"
    assert "Mics/Bass Drum Mic.wav" not in str(summary["ambiguous"])
    with pytest.raises(DatasetError, match="periphery.mapping: unknown target"):
        convert_periphery(tmp_path / "raw", tmp_path / "bad", mapping={"gtr": "guitars"})


def test_missing_raw_folder_is_named(tmp_path):
    with pytest.raises(DatasetError, match=f"periphery.raw '{tmp_path / 'none'}' does not exist"):
        convert_periphery(tmp_path / "none", tmp_path / "out")


def test_demo_raw_tree_converts_back_to_its_sources(tmp_path):
    names = generate_periphery_raw(tmp_path / "raw", songs=2, duration=2.0, seed=5)
    assert sorted(p.name for p in (tmp_path / "raw" / names[0]).iterdir()) == sorted(f"{s}.wav" for s in PERIPHERY_STEMS)
    assert sf.info(tmp_path / "raw" / names[1] / "Drums.wav").samplerate == 48000
    summary = convert_periphery(tmp_path / "raw", tmp_path / "out")
    assert summary["resampled"] == {names[1]: sorted(f"{s}.wav" for s in PERIPHERY_STEMS)}
    sources = render_track(5, "train", 1000, 88200)
    out = tmp_path / "out" / "train" / musdb_folder_name(names[0])
    for target in ("drums", "bass", "other", "vocals", "mixture"):
        np.testing.assert_allclose(read(out / f"{target}.wav"), sources[target] / 32768.0, atol=1e-6)


def test_empty_raw_folder_or_a_song_folder_as_raw_is_named(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    with pytest.raises(DatasetError, match=f"periphery.raw '{raw}': no song folders; .*copy the song folders there"):
        convert_periphery(raw, tmp_path / "out")
    sf.write(raw / "Drums.wav", noise(1, 100), 44100)
    with pytest.raises(DatasetError, match=f"looks like one song's folder: point periphery.raw at the folder above it \\('{tmp_path}'\\)"):
        convert_periphery(raw, tmp_path / "out")
