"""The torch NSGT: perfect reconstruction and agreement with PyPI nsgt 0.19."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from umxmr.models.nsgt import NSGT, CachedNSGT


def sdr(ref: np.ndarray, est: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref**2) / np.sum((ref - est) ** 2)))


@pytest.mark.parametrize("length", [4410, 44100 + 7])
def test_inverse_reconstructs_random_audio(length):
    audio = torch.randn(2, length, dtype=torch.float64, generator=torch.Generator().manual_seed(length))
    transform = NSGT(32.7, 22000.0, 12, 44100.0, length)
    coefs = transform.forward(audio)
    assert coefs.shape == (2, transform.nb_bins, transform.nb_coefs)
    assert sdr(audio.numpy(), transform.inverse(coefs).numpy()) > 60


def test_float32_reconstruction_is_above_60_db():
    audio = torch.randn(1, 2, 22050, generator=torch.Generator().manual_seed(1))
    transform = NSGT(32.7, 22000.0, 12, 44100.0, 22050)
    assert sdr(audio.numpy(), transform.inverse(transform.forward(audio)).numpy()) > 60


def test_coefficients_equal_stored_nsgt_reference(repo_root):
    # written by bench/nsgt_reference.py with nsgt 0.19 under numpy 1.26
    ref = np.load(repo_root / "tests" / "data" / "nsgt_reference.npz")
    length, fmin, fmax, bpo, rate = ref["params"]
    transform = NSGT(fmin, fmax, int(bpo), rate, int(length))
    coefs = transform.forward(torch.from_numpy(ref["x"]).double()).numpy()
    assert coefs.shape == ref["c"].shape
    np.testing.assert_allclose(coefs, ref["c"], atol=1e-5 * np.abs(ref["c"]).max())


def test_wrong_length_is_refused():
    with pytest.raises(ValueError, match="built for 1000 samples"):
        NSGT(100.0, 20000.0, 2, 44100.0, 1000).forward(torch.zeros(999))


def test_cache_builds_one_transform_per_length():
    cache = CachedNSGT(100.0, 20000.0, 2, 44100.0)
    assert cache(1000) is cache(1000)
    assert cache(1000).nb_bins == cache.nb_bins() and cache(2000).length == 2000
