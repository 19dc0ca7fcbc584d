"""Tests for the deterministic demo dataset (umxmr.data.demo)."""

from __future__ import annotations

import os
from pathlib import Path

import musdb
import numpy as np
import pytest
import soundfile as sf
import yaml

from umxmr.data import demo
from umxmr.data.demo import STEMS, demo_track_names, generate_demo, render_track

RATE = 44100
PARAMS = dict(n_train=2, n_valid=1, n_test=1, duration=2.0, seed=0)
N_FRAMES = round(PARAMS["duration"] * RATE)
WAVS = {"mixture.wav", *(f"{s}.wav" for s in STEMS)}
TRACKS = {
    "train": ["demo-train-01", "demo-train-02"],
    "valid": ["demo-valid-01"],
    "test": ["demo-test-01"],
}
SUBSET = {"train": "train", "valid": "train", "test": "test"}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "musdb18hq"
    generate_demo(root, **PARAMS)
    return root


def _folders(root: Path) -> list[Path]:
    return [root / SUBSET[split] / name for split, names in TRACKS.items() for name in names]


def _read(folder: Path, name: str, dtype: str = "float64") -> np.ndarray:
    x, rate = sf.read(folder / f"{name}.wav", dtype=dtype, always_2d=True)
    assert rate == RATE
    return x


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_track_names() -> None:
    assert demo_track_names(2, 1, 1) == TRACKS
    assert demo_track_names(0, 0, 0) == {"train": [], "valid": [], "test": []}
    assert demo_track_names(100, 0, 0)["train"][0] == "demo-train-001"
    with pytest.raises(ValueError):
        demo_track_names(-1, 0, 0)


def test_layout(root: Path) -> None:
    expected = {"setup.yaml"} | {
        f"{SUBSET[split]}/{name}/{wav}" for split, names in TRACKS.items() for name in names for wav in WAVS
    }
    assert set(_files(root)) == expected
    # the temporary build directory is gone, only the final root remains
    assert os.listdir(root.parent) == [root.name]


def test_audio_format(root: Path) -> None:
    for folder in _folders(root):
        for wav in WAVS:
            info = sf.info(folder / wav)
            assert (info.format, info.subtype) == ("WAV", "PCM_16")
            assert info.samplerate == RATE
            assert info.channels == 2
            assert info.frames == N_FRAMES


def test_mixture_is_exact_sum_of_stems(root: Path) -> None:
    for folder in _folders(root):
        mix = _read(folder, "mixture", "int16").astype(np.int64)
        stems = [_read(folder, s, "int16").astype(np.int64) for s in STEMS]
        np.testing.assert_array_equal(mix, sum(stems))
        assert np.abs(mix).max() < 32767  # no clipping
        assert np.abs(mix).max() > 3000  # ... but not absurdly quiet either
        # also exact for float reads, which is what training code sees
        for dtype in ("float32", "float64"):
            np.testing.assert_array_equal(_read(folder, "mixture", dtype), sum(_read(folder, s, dtype) for s in STEMS))


def test_deterministic_and_seed_dependent(root: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate_demo(again, **PARAMS)
    assert _files(again) == _files(root)

    other = tmp_path / "other_seed"
    generate_demo(other, **{**PARAMS, "seed": 1})
    a, b = _files(root), _files(other)
    assert set(a) == set(b)
    for rel in a:
        if rel.endswith(".wav"):
            assert a[rel] != b[rel], rel


def test_tracks_differ(root: Path) -> None:
    folders = _folders(root)
    mixes = [_read(f, "mixture").mean(axis=1) for f in folders]
    for i in range(len(mixes)):
        for j in range(i + 1, len(mixes)):
            corr = np.corrcoef(mixes[i], mixes[j])[0, 1]
            assert abs(corr) < 0.5, (folders[i].name, folders[j].name, corr)
    # train and test use different random streams even at the same index
    a = render_track(0, "train", 0, 4410)
    b = render_track(0, "test", 0, 4410)
    assert not np.array_equal(a["vocals"], b["vocals"])


def test_setup_yaml_mirrors_musdb(root: Path) -> None:
    ours = yaml.safe_load((root / "setup.yaml").read_text())
    with open(Path(musdb.__file__).parent / "configs" / "mus.yaml") as f:
        ref = yaml.safe_load(f)
    assert set(ours) == set(ref) - {"sample-url"}
    for key in ("sources", "mixture", "stem_ids", "targets"):
        assert ours[key] == ref[key], key
    assert ours["sample_rate"] == RATE
    assert ours["validation_tracks"] == TRACKS["valid"]


def test_musdb_reads_splits(root: Path) -> None:
    def names(**kw: str) -> list[str]:
        db = musdb.DB(root=str(root), setup_file="setup.yaml", is_wav=True, **kw)
        return [t.name for t in db.tracks]

    assert names(subsets="train", split="train") == TRACKS["train"]
    assert names(subsets="train", split="valid") == TRACKS["valid"]
    assert names(subsets="test") == TRACKS["test"]

    track = musdb.DB(root=str(root), setup_file="setup.yaml", is_wav=True, subsets="test").tracks[0]
    assert track.rate == RATE
    folder = root / "test" / track.name
    np.testing.assert_allclose(track.audio, _read(folder, "mixture"), atol=1e-6)
    np.testing.assert_allclose(track.targets["vocals"].audio, _read(folder, "vocals"), atol=1e-6)
    accompaniment = sum(_read(folder, s) for s in ("drums", "bass", "other"))
    np.testing.assert_allclose(track.targets["accompaniment"].audio, accompaniment, atol=1e-6)


def _min_window_rms(x: np.ndarray, rate: int) -> float:
    """Smallest per-channel RMS over all 1 s windows (hop 0.1 s)."""
    win, hop = rate, rate // 10
    starts = range(0, x.shape[0] - win + 1, hop)
    return min(float(np.sqrt(np.mean(x[s : s + win] ** 2, axis=0)).min()) for s in starts)


def test_no_silent_second(root: Path) -> None:
    for folder in _folders(root):
        for s in STEMS:
            assert _min_window_rms(_read(folder, s), RATE) > 1e-3, (folder.name, s)
    # longer tracks: melody gaps, bass staccato and chord changes accumulate
    for split, index in (("train", 5), ("test", 2)):
        out = render_track(123, split, index, 8 * RATE)
        for s in STEMS:
            assert _min_window_rms(out[s] / 32768.0, RATE) > 1e-3, (split, index, s)


def _centroid(x: np.ndarray, rate: int) -> float:
    power = np.abs(np.fft.rfft(x)) ** 2
    return float(np.sum(power * np.fft.rfftfreq(x.size, 1.0 / rate)) / np.sum(power))


def _flatness(x: np.ndarray, n_fft: int = 2048) -> float:
    """Median spectral flatness over frames: ~0 for harmonic tones, large for noise."""
    frames = x[: x.size // n_fft * n_fft].reshape(-1, n_fft) * np.hanning(n_fft)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2 + 1e-20
    return float(np.median(np.exp(np.mean(np.log(power), axis=1)) / np.mean(power, axis=1)))


def _crest(x: np.ndarray) -> float:
    return float(np.max(np.abs(x)) / np.sqrt(np.mean(x**2)))


def test_sources_are_distinct(root: Path) -> None:
    for folder in _folders(root):
        x = {s: _read(folder, s).mean(axis=1) for s in STEMS}
        c = {s: _centroid(v, RATE) for s, v in x.items()}
        # bass is low; drums (hats, snare noise) are the brightest
        assert c["bass"] < 150.0, (folder.name, c)
        assert c["bass"] < min(c["other"], c["vocals"]) / 2, (folder.name, c)
        assert c["drums"] > max(c["bass"], c["other"], c["vocals"]), (folder.name, c)
        # the bass fundamental sits in 40-120 Hz
        spec = np.abs(np.fft.rfft(x["bass"]))
        peak = np.fft.rfftfreq(x["bass"].size, 1.0 / RATE)[np.argmax(spec)]
        assert 38.0 < peak < 125.0, (folder.name, peak)
        # drums: noisy and transient; the others are harmonic and smoother
        flat = {s: _flatness(v) for s, v in x.items()}
        crest = {s: _crest(v) for s, v in x.items()}
        for s in ("bass", "other", "vocals"):
            assert flat["drums"] > 100 * flat[s], (folder.name, flat)
            assert crest["drums"] > crest[s], (folder.name, crest)


def test_existing_root_raises(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    (root / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError, match="data"):
        generate_demo(root, **PARAMS)
    assert os.listdir(root) == ["keep.txt"]
    assert os.listdir(tmp_path) == ["data"]


def test_failure_removes_temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def failing(*args: object, **kwargs: object) -> dict[str, np.ndarray]:
        calls.append(args)
        if len(calls) > 1:
            raise RuntimeError("boom")
        return render_track(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(demo, "render_track", failing)
    with pytest.raises(RuntimeError, match="boom"):
        generate_demo(tmp_path / "data", **PARAMS)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "bad",
    [{"duration": 0.0}, {"duration": float("nan")}, {"seed": -1}, {"n_test": -2}, {"rate": 100}],
)
def test_rejects_bad_arguments(tmp_path: Path, bad: dict) -> None:
    with pytest.raises(ValueError):
        generate_demo(tmp_path / "data", **{**PARAMS, **bad})
    assert os.listdir(tmp_path) == []
