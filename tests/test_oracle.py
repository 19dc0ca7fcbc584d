"""Phase-mix oracle search: transform, oracle, score, draws and the choice of windows."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
import scipy.signal

from umxmr.settings import oracle_stft
from umxmr.oracle.search import (
    BLOCK_SAMPLES,
    OracleTrack,
    best_windows,
    evaluate_windows,
    global_sdr,
    istft,
    phase_mix_sdrs,
    random_windows,
    search_hop,
    search_windows,
    stft,
    window_grid,
)

NOTES_GRID = {"start": 256, "stop": 32768, "step": 128}


@pytest.mark.parametrize("window", [384, 1000, 5632, 6912, 11648])
@pytest.mark.parametrize("length", [333, 44100 + 17])
def test_round_trip_non_power_of_two_windows_including_the_end(window, length):
    audio = np.random.default_rng(window + length).standard_normal((2, length)).astype(np.float32)
    back = istft(stft(audio, window), window, length)
    assert back.shape == audio.shape
    tail = slice(-min(length, window), None)  # where hop = 3w/4 leaves a small envelope unless padded
    np.testing.assert_allclose(back[:, tail], audio[:, tail], atol=1e-5)
    np.testing.assert_allclose(back, audio, atol=1e-5)


def test_stft_has_scipys_frames_up_to_its_scaling():
    window, audio = 1000, np.random.default_rng(1).standard_normal((2, 20000)).astype(np.float32)
    _, _, ref = scipy.signal.stft(audio, nperseg=window, noverlap=window // 4, padded=True, boundary="zeros")
    ours = stft(audio, window)
    scale = scipy.signal.get_window("hann", window).sum()
    np.testing.assert_allclose(ours, np.swapaxes(ref, -1, -2) * scale, atol=2e-3)


def test_phase_mix_of_a_one_source_mixture_returns_the_source():
    source = np.random.default_rng(2).standard_normal((1, 2, 30000)).astype(np.float32)
    assert phase_mix_sdrs(source, 5632)[0] > 100.0


def test_phase_mix_of_two_sources_is_imperfect_but_informative():
    rng = np.random.default_rng(3)
    t = np.arange(30000) / 44100
    tone = np.stack([np.sin(2 * np.pi * 220 * t)] * 2).astype(np.float32)
    noise = 0.1 * rng.standard_normal((2, t.size)).astype(np.float32)
    sdrs = phase_mix_sdrs(np.stack([tone, noise]), 2048)
    assert 10.0 < sdrs[0] < 100.0 and sdrs[1] < 60.0


def test_global_sdr_by_hand():
    ref = np.array([[1.0, -2.0], [3.0, 0.5]])
    est = np.array([[0.5, -2.0], [2.0, 1.0]])
    num = 1 + 4 + 9 + 0.25 + 1e-10
    den = 0.25 + 0 + 1 + 0.25 + 1e-10
    assert global_sdr(ref, est) == pytest.approx(10 * np.log10(num / den), abs=1e-9)
    assert global_sdr(ref, ref) == pytest.approx(10 * np.log10((14.25 + 1e-10) / 1e-10))


def test_random_draws_are_the_notes_draws():
    grid = window_grid(NOTES_GRID)
    # range(256, 32768, 128): 254 windows (the "250" is a round figure)
    assert len(grid) == 254 and grid[0] == 256 and grid[-1] == 32640
    rng = random.Random(1337)
    assert random_windows(grid, 60, 1337) == [rng.choice(grid) for _ in range(60)]
    # every window the notes report was among the draws of its seed with this RNG
    assert {7808, 14080, 6656, 11264} <= set(random_windows(grid, 60, 42))
    assert {8320, 15232, 5632, 11648, 6912} <= set(random_windows(grid, 60, 1337))


def test_search_windows_by_name():
    oracle = {"grid": NOTES_GRID, "draws": 60, "controls": {"single": 8192, "per_target": 4096}}
    assert search_windows(oracle, "grid") == window_grid(NOTES_GRID)
    assert search_windows(oracle, "controls") == [4096, 8192]
    assert len(search_windows(oracle, "42")) == 60
    assert search_hop(4096) == 3072


def _track(tmp_path, name, sources):
    import soundfile as sf

    from umxmr.data.layout import TrackInfo

    folder = tmp_path / name
    folder.mkdir()
    for target, audio in sources.items():
        sf.write(folder / f"{target}.wav", audio.T, 44100, subtype="FLOAT")
    length = next(iter(sources.values())).shape[-1]
    return TrackInfo(name=name, split="valid", folder=str(folder), frames=length, rate=44100, channels=2)


def test_evaluate_windows_averages_tracks_and_is_the_same_in_parallel(tmp_path):
    rng = np.random.default_rng(4)
    targets = ["vocals", "bass"]
    tracks = [_track(tmp_path, f"t{i}", {t: rng.standard_normal((2, 9000)).astype(np.float32) for t in targets}) for i in range(2)]
    table = evaluate_windows(tracks, [512, 1024, 512], targets, jobs=1, progress=False)
    assert list(table["window"]) == [512, 1024] and list(table["draws"]) == [2, 1]
    from umxmr.data.audio import read_audio

    per_track = [phase_mix_sdrs(np.stack([read_audio(tr.path(t)).T for t in targets]), 1024)[1] for tr in tracks]
    assert table.loc[1, "bass"] == pytest.approx(np.mean(per_track))
    np.testing.assert_allclose(table["total"], table[targets].mean(axis=1))
    parallel = evaluate_windows(tracks, [512, 1024, 512], targets, jobs=2, progress=False)
    pd.testing.assert_frame_equal(table, parallel)


def test_best_windows_and_the_stft_a_variant_takes_from_them():
    def table(rows):
        return pd.DataFrame(rows, columns=["window", "hop", "draws", "vocals", "bass", "total"])

    searches = {
        "42": table([[1024, 768, 1, 5.0, 1.0, 3.0], [8192, 6144, 1, 4.0, 3.0, 3.5]]),
        "1337": table([[2048, 1536, 1, 6.0, 2.0, 4.0]]),
    }
    controls = table([[1024, 768, 1, 5.0, 1.0, 3.0], [8192, 6144, 1, 4.0, 3.0, 3.5]])
    best = best_windows(searches, controls, ["vocals", "bass"], {"single": 8192, "per_target": 1024})
    assert best["single"]["window"] == 2048 and best["single"]["search"] == "1337"
    assert best["per_target"]["vocals"]["window"] == 2048
    assert best["per_target"]["bass"]["window"] == 8192
    assert best["per_target_total"] == pytest.approx(4.5)
    assert best["controls"]["single"]["total"] == 3.5 and best["controls"]["per_target"]["window"] == 1024
    assert oracle_stft({"from_oracle": "per_target"}, "bass", best) == {"from_oracle": "per_target", "n_fft": 8192, "hop": 2048}
    single = oracle_stft({"from_oracle": "single", "oracle_hop_divisor": 2, "n_fft": 4096, "hop": 1024}, "bass", best)
    assert (single["n_fft"], single["hop"]) == (2048, 1024)
    assert oracle_stft({"n_fft": 4096, "hop": 1024}, "bass", best) == {"n_fft": 4096, "hop": 1024}


@pytest.mark.parametrize("block", [1, BLOCK_SAMPLES, 10**9])  # one frame per block, the default, whole signal
@pytest.mark.parametrize("window", [1536, 6912])
def test_phase_mix_sdrs_equal_the_notes_scipy_way(window, block):
    sources = np.random.default_rng(5).standard_normal((3, 2, 20000)).astype(np.float32)
    coefs = [scipy.signal.stft(s, nperseg=window, noverlap=window // 4)[-1] for s in sources]
    phase = np.exp(1j * np.angle(1e-10 + sum(coefs)))
    expected = []
    for source, coef in zip(sources, coefs):
        estimate = scipy.signal.istft(np.abs(coef) * phase, nperseg=window, noverlap=window // 4)[1][..., : source.shape[-1]]
        expected.append(global_sdr(source.astype(np.float64), estimate))
    np.testing.assert_allclose(phase_mix_sdrs(sources, window, block), expected, atol=1e-3)


def test_a_track_padded_once_scores_every_shorter_window_as_alone():
    sources = np.random.default_rng(6).standard_normal((2, 2, 15000)).astype(np.float32)
    track = OracleTrack(sources, max_window=4096)
    for window in (512, 1408, 4096):
        np.testing.assert_allclose(track.phase_mix_sdrs(window), phase_mix_sdrs(sources, window), rtol=1e-6)
    with pytest.raises(ValueError, match="longer than the 4096"):
        track.phase_mix_sdrs(4224)
