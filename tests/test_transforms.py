"""STFT/ISTFT round trips, including the end of the signal."""

from __future__ import annotations

import pytest
import torch

from umxmr.models.transforms import ISTFT, STFT, bandwidth_to_max_bin, magnitude


def test_max_bin_matches_open_unmix_default():
    assert bandwidth_to_max_bin(44100, 4096, 16000) == 1487


@pytest.mark.parametrize("n_fft, hop", [(4096, 1024), (2048, 512), (1000, 250)])
def test_centred_round_trip_covers_the_whole_signal(n_fft, hop):
    audio = torch.randn(2, 2, 44100 + 123, dtype=torch.float64)
    stft, istft = STFT(n_fft, hop, center=True).double(), ISTFT(n_fft, hop, center=True).double()
    out = istft(stft(audio), length=audio.shape[-1])
    assert out.shape == audio.shape
    assert torch.sqrt(torch.mean((out - audio) ** 2)) < 1e-9
    # the last hop of samples comes back too
    assert torch.allclose(out[..., -hop:], audio[..., -hop:], atol=1e-9)


def test_stft_shape_and_magnitude():
    spec = STFT(4096, 1024, center=False)(torch.randn(3, 2, 4096 + 1024 * 9))
    assert spec.shape == (3, 2, 2049, 10) and spec.is_complex()
    mag = magnitude(spec)
    assert torch.all(mag >= 0) and mag.shape == spec.shape
    assert torch.allclose(magnitude(spec, mono=True)[:, 0], mag.mean(1))
