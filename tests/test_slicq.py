"""The torch sliCQ: agreement with PyPI nsgt 0.19's NSGT_sliced, perfect reconstruction,
umx-mr-7's slice lengths and the Bark scale's windows."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

from umxmr.models.slicq import SliCQ, scale_frequencies, sliced_windows, smallest_slice_lengths

RATE = 44100.0


def sdr(ref: np.ndarray, est: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref**2) / np.sum((ref - est) ** 2)))


@pytest.fixture(scope="module")
def umx_mr_7(repo_root):
    return yaml.safe_load((repo_root / "config.yaml").read_text())["variants"]["umx-mr-7"]["model"]["nsgt"]


@pytest.fixture(scope="module")
def bark(umx_mr_7):
    return SliCQ(umx_mr_7["scale"], umx_mr_7["fmin"], umx_mr_7["fmax"], umx_mr_7["bins"], RATE)


def test_coefficients_equal_stored_nsgt_sliced_reference(repo_root, umx_mr_7):
    # written by bench/slicq_reference.py with nsgt 0.19 under numpy 1.26: mel scale, umx-mr-7's slice lengths
    ref = np.load(repo_root / "tests" / "data" / "slicq_reference.npz")
    fmin, fmax, bins, slice_length, transition, rate, stride = ref["params"]
    assert (slice_length, transition) == (umx_mr_7["slice_length"], umx_mr_7["transition_length"])
    transform = SliCQ("mel", fmin, fmax, int(bins), rate, int(slice_length), int(transition))
    coefs = transform.forward(torch.from_numpy(ref["x"]).double()).numpy()
    assert coefs.shape == tuple(ref["shape"])
    np.testing.assert_allclose(coefs[..., :: int(stride)], ref["c"], atol=1e-5 * np.abs(ref["c"]).max())


@pytest.mark.parametrize("length", [1000, 18060 * 2 + 7])
def test_bark_inverse_reconstructs_random_audio(bark, length):
    audio = torch.randn(2, length, dtype=torch.float64, generator=torch.Generator().manual_seed(length))
    coefs = bark.forward(audio)
    assert coefs.shape == (2, bark.nb_slices(length), bark.nb_bins, bark.nb_coefs)
    assert sdr(audio.numpy(), bark.inverse(coefs, length).numpy()) > 60
    single = audio.float()
    assert sdr(single.numpy(), bark.inverse(bark.forward(single), length).numpy()) > 60


@pytest.mark.parametrize("scale, bins", [("oct", 2), ("mel", 60)])
def test_other_scales_reconstruct(scale, bins):
    audio = torch.randn(1, 30000, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    transform = SliCQ(scale, 40.0, 20000.0, bins, RATE)
    assert sdr(audio.numpy(), transform.inverse(transform.forward(audio), 30000).numpy()) > 60


def test_umx_mr_7_slice_lengths_are_the_smallest_nsgt_accepts(umx_mr_7):
    freqs, q = scale_frequencies("bark", umx_mr_7["fmin"], umx_mr_7["fmax"], umx_mr_7["bins"])
    keep = (freqs > 0) & (freqs < RATE / 2)
    slice_length, transition = umx_mr_7["slice_length"], umx_mr_7["transition_length"]
    # nsgt warns when Q >= f · slice / (8 · rate) for a band; 4 samples less would trigger it
    assert np.all(q[keep] < freqs[keep] * slice_length / (8 * RATE))
    assert np.any(q[keep] >= freqs[keep] * (slice_length - 4) / (8 * RATE))
    assert slice_length % 4 == 0 and transition % 2 == 0 and transition in (slice_length // 4, slice_length // 4 + 1)
    assert smallest_slice_lengths(freqs, q, RATE) == (slice_length, transition)


def test_bark_scale_windows(umx_mr_7, bark):
    freqs, q = scale_frequencies("bark", umx_mr_7["fmin"], umx_mr_7["fmax"], umx_mr_7["bins"])
    # Traunmüller-free form of xumx-sliCQ's BarkScale: equal steps of 6·asinh(f/600) from fmin to fmax
    barks = 6 * np.log(freqs / 600 + np.sqrt((freqs / 600) ** 2 + 1))
    np.testing.assert_allclose(np.diff(barks), (barks[-1] - barks[0]) / (len(barks) - 1), rtol=1e-9)
    np.testing.assert_allclose(freqs[[0, -1]], [umx_mr_7["fmin"], umx_mr_7["fmax"]], rtol=1e-12)
    # Q = f / (2 df/dband), by hand: df/db = 100 cosh(b/6) · bark step
    step = barks[1] - barks[0]
    # (nsgt differentiates numerically with a step of 1e-8 bands: a few 1e-6 relative)
    np.testing.assert_allclose(q, freqs / (2 * 100 * np.cosh(barks / 6) * step), rtol=2e-5)
    windows, centres, lens = sliced_windows(freqs, q, RATE, bark.slice_length)
    nb = bark.nb_bins - 2
    assert bark.nb_bins == nb + 2 and len(windows) == 2 * (nb + 1) and lens.max() == bark.nb_coefs
    for k in range(1, nb + 1):
        w = windows[k]
        # Blackman-Harris: peak 1 at the centre bin (index 0), symmetric, zero at the edge
        assert w[0] == pytest.approx(1.0, abs=1e-9) and np.allclose(w[1:], w[1:][::-1]) and w[len(w) // 2] < 1e-4
        # each band reaches (to the rounding of its length to 4 bins) its neighbours' centres
        assert lens[k] // 2 + 2 >= max(centres[k] - centres[k - 1], centres[k + 1] - centres[k]) or k in (1, nb)
    # a painless frame: the frame operator's diagonal covers every frequency, bounded away from 0
    # (the bounds' ratio is ~80 here: dips where neighbouring Blackman-Harris windows, their
    # lengths rounded to multiples of 4 bins, barely meet; the dual frame divides by it exactly)
    diag = np.zeros(bark.slice_length)
    for w, r in zip(windows, bark.ranges):
        diag[r] += np.fft.fftshift(w) ** 2 * bark.nb_coefs
    assert diag.min() > 0.01 * diag.max()


def test_overlap_add_and_back_to_slices(bark):
    ones = torch.ones(3, bark.nb_bins, bark.nb_coefs)
    frames = bark.overlap_add(ones)
    half = bark.nb_coefs // 2
    assert frames.shape == (bark.nb_bins, 4 * half)
    want = np.concatenate([np.ones(half), 2 * np.ones(2 * half), np.ones(half)])
    np.testing.assert_array_equal(frames[5].numpy(), want)
    values = torch.randn(2, 3, bark.nb_bins, bark.nb_coefs)
    back = bark.frames_to_slices(bark.overlap_add(values))
    # slice i's window of the grid: its own values plus its neighbours' overlapping halves
    np.testing.assert_allclose(back[:, 1, :, :half].numpy(), (values[:, 1, :, :half] + values[:, 0, :, half:]).numpy(), rtol=1e-6)


def test_bad_lengths_are_refused():
    with pytest.raises(ValueError, match="slice_length: 1000 is below"):
        SliCQ("bark", 32.9, 22050.0, 262, RATE, slice_length=1000, transition_length=200)
    with pytest.raises(ValueError, match="must be even"):
        SliCQ("bark", 32.9, 22050.0, 262, RATE, slice_length=20000, transition_length=201)
    with pytest.raises(ValueError, match="not one of oct, mel, bark"):
        SliCQ("erb", 32.9, 22050.0, 262, RATE)
    with pytest.raises(ValueError, match="do not fit"):
        SliCQ("mel", 100.0, 20000.0, 20, RATE).inverse(torch.zeros(1, 3, 3, dtype=torch.complex64), 5000)


def test_front_end_estimate_back_to_audio_is_a_mask_on_the_mixture(umx_mr_7):
    from umxmr.models.frontends import NsgtFrontend, SlicedNsgtFrontend

    settings = {"model": {"nsgt": umx_mr_7}, "stft": {"n_fft": 512, "hop": 128}}
    frontend = NsgtFrontend.from_settings(settings, RATE, center=True)
    assert isinstance(frontend, SlicedNsgtFrontend) and frontend.nb_bins() == 263
    audio = torch.randn(1, 2, 20000, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    grid = frontend.inputs(audio)
    assert grid.shape == (1, 2, 263, (frontend.slicq.nb_slices(20000) + 1) * 146)
    # the mixture's own grid magnitude is a mask of 1: the mixture back; 0.3 of it: 0.3 × the mixture
    assert sdr(audio.numpy(), frontend.audio_estimate(grid, audio).numpy()) > 60
    assert sdr(0.3 * audio.numpy(), frontend.audio_estimate(0.3 * grid, audio).numpy()) > 60
    # a mask of 1 on the lower half of the bands only: the inverse of the masked mixture coefficients
    mask = torch.zeros(263, 1)
    mask[:131] = 1
    coefs = frontend.slicq.forward(audio)
    want = frontend.slicq.inverse(coefs * mask, 20000)
    np.testing.assert_allclose(frontend.audio_estimate(grid * mask, audio).numpy(), want.numpy(), atol=1e-9)
    # chunked grid = overlap-add of the whole signal's coefficient magnitudes
    np.testing.assert_allclose(frontend.slicq.grid_magnitude(audio, chunk=2).numpy(), frontend.slicq.overlap_add(coefs.abs()).numpy(), rtol=1e-12, atol=1e-12)


def test_slicq_phase_mix_oracle_is_source_magnitude_with_mixture_phase(umx_mr_7):
    from umxmr.oracle.estimates import slicq_of_variant, slicq_phase_mix

    slicq = slicq_of_variant({"model": {"nsgt": umx_mr_7}}, RATE)
    assert (slicq.scale, slicq.slice_length, slicq.transition_length) == ("bark", 18060, 4516)
    mix = np.random.default_rng(7).standard_normal((20001, 2)) * 0.1
    # a source in phase with the mixture comes back exactly; one in antiphase gets the
    # mixture's phase, so the oracle returns its magnitude with the opposite sign
    est = slicq_phase_mix(mix, {"vocals": 0.3 * mix, "drums": -0.7 * mix, "bass": mix}, slicq)
    assert est["vocals"].shape == mix.shape
    assert sdr(0.3 * mix, est["vocals"]) > 60 and sdr(0.7 * mix, est["drums"]) > 60 and sdr(mix, est["bass"]) > 60
    with pytest.raises(ValueError, match="sliced: true"):
        slicq_of_variant({"model": {"nsgt": {"fmin": 32.7}}}, RATE)


def test_slicq_oracle_config_names_a_sliced_variant(repo_root):
    from umxmr.config_check import config_errors

    config = yaml.safe_load((repo_root / "config.yaml").read_text())
    schema = yaml.safe_load((repo_root / "schemas" / "config.schema.yaml").read_text())
    config["evaluation"]["slicq_oracle"] = "umx-mr-7-whole"
    assert any(e.startswith("evaluation.slicq_oracle: 'umx-mr-7-whole' has no sliced NSGT") for e in config_errors(config, schema))
    config["evaluation"]["slicq_oracle"] = "umx-mr-77"
    assert any(e.startswith("evaluation.slicq_oracle: 'umx-mr-77' is not a variant") for e in config_errors(config, schema))
    config["evaluation"]["slicq_oracle"] = "umx-mr-7"
    assert config_errors(config, schema) == []
