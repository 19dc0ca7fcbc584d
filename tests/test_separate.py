"""Separation equals open-unmix's Wiener filter and Separator (openunmix 1.3.0, installed --no-deps)."""

import numpy as np
import pytest
import torch

from umxmr.separation import separate as sep

torch.set_num_threads(1)


def random_case(seed, nb_frames=7, nb_bins=9, nb_channels=2, nb_targets=3):
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.01, 1.0, (nb_frames, nb_bins, nb_channels, nb_targets))
    x = rng.standard_normal((nb_frames, nb_bins, nb_channels)) + 1j * rng.standard_normal((nb_frames, nb_bins, nb_channels))
    return v, x


def openunmix_wiener(v, x, niter, softmask, residual):
    from openunmix.filtering import wiener

    x_t = torch.view_as_real(torch.from_numpy(x))  # (..., 2), float64
    y = wiener(torch.from_numpy(v), x_t, niter, softmask=softmask, residual=residual)
    return y[..., 0, :].numpy() + 1j * y[..., 1, :].numpy()


@pytest.mark.parametrize("niter", [0, 1, 2])
@pytest.mark.parametrize("softmask", [False, True])
@pytest.mark.parametrize("residual", [False, True])
def test_wiener_equals_openunmix(niter, softmask, residual):
    v, x = random_case(niter + 2 * softmask + 4 * residual)
    ours = sep.wiener_in_windows(v, x, niter, softmask, residual, win_len=None)
    ref = openunmix_wiener(v, x, niter, softmask, residual)
    assert ours.shape == ref.shape == x.shape + (3 + residual,)
    # float64 on both sides: equal to rounding
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-6 * np.abs(x).max())
    if niter == 0 and not softmask:
        np.testing.assert_allclose(np.abs(ours[..., :3]), v)  # magnitudes kept, mixture phase


def test_windows_equal_openunmix_windows_and_bound_memory(monkeypatch):
    v, x = random_case(9, nb_frames=23)
    seen = []
    wiener = sep._wiener

    def spy(vw, xw, *args):
        seen.append(vw.shape[0])
        return wiener(vw, xw, *args)

    monkeypatch.setattr(sep, "_wiener", spy)
    ours = sep.wiener_in_windows(v, x, 1, False, True, win_len=10)
    assert seen == [10, 10, 3]  # never more than win_len frames in the filter at once
    ref = np.concatenate([openunmix_wiener(v[s], x[s], 1, False, True)
                          for s in (slice(0, 10), slice(10, 20), slice(20, 23))])
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-6 * np.abs(x).max())
    # windows change EM's statistics: not the same as one window over the whole track
    whole = sep.wiener_in_windows(v, x, 1, False, True, win_len=None)
    assert not np.allclose(ours, whole)


class BinWeights(torch.nn.Module):
    """A stand-in target model: fixed positive weights per frequency bin and channel."""

    def __init__(self, weights):
        super().__init__()
        self.weights = torch.nn.Parameter(weights, requires_grad=False)

    def forward(self, x):
        return x * self.weights[None, :, :, None]


@pytest.mark.parametrize("niter,softmask,residual", [(0, False, False), (1, False, False), (1, True, True), (0, True, False)])
def test_separate_equals_openunmix_separator(niter, softmask, residual):
    from openunmix.model import Separator

    n_fft, hop, rate = 256, 64, 8000.0
    gen = torch.Generator().manual_seed(niter + 2 * softmask + 4 * residual)
    mixture = 0.3 * torch.randn(2, int(0.5 * rate), generator=gen, dtype=torch.float32)
    targets = ["vocals", "drums"]
    models = {t: BinWeights(torch.rand(2, n_fft // 2 + 1, generator=gen) + 0.05).eval() for t in targets}
    ours = sep.separate(mixture.numpy().T, models, n_fft, hop, niter=niter, softmask=softmask,
                        residual=residual, wiener_win_len=8)
    separator = Separator(models, niter=niter, softmask=softmask, residual=residual, sample_rate=rate,
                          n_fft=n_fft, n_hop=hop, nb_channels=2, wiener_win_len=8).eval()
    with torch.no_grad():
        ref = separator(mixture[None])[0].numpy()
    names = targets + (["residual"] if residual else [])
    assert list(ours) == names and ref.shape[0] == len(names)
    for k, name in enumerate(names):
        assert ours[name].shape == (mixture.shape[1], 2)
        # both in float32 STFTs; norbert works in float64: equal to float32 precision
        np.testing.assert_allclose(ours[name].T, ref[k], atol=2e-5 * float(mixture.abs().max()))
