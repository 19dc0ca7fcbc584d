"""Non-stationary Gabor transform (NSGT) on an octave scale, in torch, with its exact inverse.

Why our own: PyPI `nsgt` 0.19 fails on numpy 2 (see ../shared reference notes) and runs in
numpy, outside autograd and off the GPU. This is the same transform as
`nsgt.NSGT(OctScale(fmin, fmax, bpo), fs, Ls, real=True, matrixform=True)` (whole signal,
not sliced, Hann windows in frequency, painless dual frame), vectorised: the frequency
windows of all bins are laid out as one gather index and one weight matrix, so the forward
transform is a gather, a product and an inverse FFT per bin, and the inverse a forward FFT,
a product and a scatter-add. Checked against `nsgt` in tests/test_nsgt.py (stored
coefficients) and bench/nsgt_vs_reference.py.

The windows depend on the signal length, so they are built per length and cached.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def octave_frequencies(fmin: float, fmax: float, bins_per_octave: int) -> tuple[np.ndarray, float]:
    """Centre frequencies and Q of `nsgt.OctScale(fmin, fmax, bins_per_octave)`."""
    lfmin, lfmax = np.log2(fmin), np.log2(fmax)
    nb_bands = int(np.ceil((lfmax - lfmin) * bins_per_octave)) + 1
    pow2n = 2 ** ((lfmax - lfmin) / (nb_bands - 1))
    q = np.sqrt(pow2n) / (pow2n - 1.0) / 2.0
    return fmin * pow2n ** np.arange(nb_bands), float(q)


def _hann(length: int) -> np.ndarray:
    """Hann window with its peak at index 0 (nsgt's `hannwin`)."""
    return 0.5 * (1.0 + np.cos(np.arange(length) * 2.0 * np.pi / length))


def nsgt_windows(freqs: np.ndarray, rate: float, length: int, min_win: int = 4) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Frequency windows, their integer centres (FFT bins) and lengths, for all 2·(K+1) bands.

    As nsgt's `nsgfwin(..., sliced=False)`: a DC band, the K bands, a Nyquist band, then
    their mirror images at negative frequencies.
    """
    nyquist = rate / 2.0
    freqs = freqs[(freqs > 0) & (freqs < nyquist)]
    nb = len(freqs)
    frqs = np.concatenate(([0.0], freqs, [nyquist]))
    fbas = np.concatenate((frqs, rate - frqs[-2:0:-1])) * (length / rate)
    lens = np.zeros(len(fbas))
    lens[0] = 2 * fbas[1]
    lens[1 : 2 * nb + 1] = fbas[2 : 2 * nb + 2] - fbas[0 : 2 * nb]
    lens[-1] = length - fbas[-2]
    lens = np.maximum(np.round(lens).astype(int), min_win)
    fbas[nb] = (fbas[nb - 1] + fbas[nb + 1]) / 2
    fbas[nb + 2] = length - fbas[nb]
    return [_hann(m) for m in lens], np.round(fbas).astype(int), lens


class NSGT:
    """Octave-scale NSGT of real signals of a given length, coefficients as a matrix.

    `forward`: audio `(..., length)` → complex `(..., nb_bins, nb_coefs)`, bins = DC, the
    octave bands, Nyquist. `inverse`: the coefficients back to `(..., length)` audio.
    """

    def __init__(self, fmin: float, fmax: float, bins_per_octave: int, rate: float, length: int) -> None:
        freqs, _ = octave_frequencies(fmin, fmax, bins_per_octave)
        g, centres, lens = nsgt_windows(freqs, rate, length)
        self.length = length
        self.nb_coefs = int(lens.max())  # matrixform: every band gets the longest band's length
        # window ranges on the FFT grid (nsgt's calcwinrange); shifts sum to `length`
        shift = np.concatenate(([np.mod(-centres[-1], length)], np.diff(centres)))
        positions = np.cumsum(shift) - shift[0]
        ranges = [np.arange(-(len(w) // 2) + p, len(w) - len(w) // 2 + p) % length for w, p in zip(g, positions)]
        # painless dual frame (nsgt's nsdual): g / Σ M·|g|² over every band, both signs
        diag = np.zeros(length)
        for w, r in zip(g, ranges):
            diag[r] += np.fft.fftshift(w) ** 2 * self.nb_coefs
        dual = [w / np.fft.ifftshift(diag[r]) for w, r in zip(g, ranges)]

        nb_bins = len(g) // 2 + 1  # real signals: DC, bands, Nyquist
        index = np.zeros((nb_bins, self.nb_coefs), dtype=np.int64)
        weight = np.zeros((nb_bins, self.nb_coefs))
        dual_weight = np.zeros((nb_bins, self.nb_coefs))
        for k in range(nb_bins):
            m, r = len(g[k]), ranges[k]
            # upper half of the window (from its centre) at the start, lower half at the end
            up, down = (m + 1) // 2, m // 2
            index[k, :up], index[k, self.nb_coefs - down :] = r[down:], r[:down]
            weight[k, :up], weight[k, self.nb_coefs - down :] = g[k][:up], g[k][m - down :]
            dual_weight[k, :up] = dual[k][:up] * self.nb_coefs
            dual_weight[k, self.nb_coefs - down :] = dual[k][m - down :] * self.nb_coefs
        self.index = torch.from_numpy(index)
        self.weight = torch.from_numpy(weight)
        self.dual_weight = torch.from_numpy(dual_weight)
        self.nb_bins = nb_bins

    def forward(self, audio: Tensor) -> Tensor:
        if audio.shape[-1] != self.length:
            raise ValueError(f"NSGT built for {self.length} samples got {audio.shape[-1]}")
        spec = torch.fft.fft(audio)
        coefs = spec[..., self.index.to(spec.device)] * self.weight.to(spec.device, audio.dtype)
        return torch.fft.ifft(coefs)

    def inverse(self, coefs: Tensor) -> Tensor:
        spec = torch.fft.fft(coefs) * self.dual_weight.to(coefs.device, coefs.real.dtype)
        full = torch.zeros(*coefs.shape[:-2], self.length, dtype=coefs.dtype, device=coefs.device)
        index = self.index.to(coefs.device).expand(*coefs.shape[:-2], -1, -1).reshape(*coefs.shape[:-2], -1)
        full = full.scatter_add(-1, index, spec.reshape(*coefs.shape[:-2], -1))
        return torch.fft.irfft(full[..., : self.length // 2 + 1], n=self.length)


class CachedNSGT:
    """NSGTs of one scale for any signal length, built on first use of each length.

    Few are kept: the layout of one costs 3 × bands × coefficients × 8 bytes (~1.6 GB for a
    4-minute track at 12 bands per octave), so training keeps its excerpt length and the
    last validation track.
    """

    def __init__(self, fmin: float, fmax: float, bins_per_octave: int, rate: float, max_cached: int = 2) -> None:
        self.args = (fmin, fmax, bins_per_octave, rate)
        self.max_cached = max_cached
        self._cache: dict[int, NSGT] = {}

    def __call__(self, length: int) -> NSGT:
        if length not in self._cache:
            if len(self._cache) >= self.max_cached:
                self._cache.pop(next(iter(self._cache)))
            self._cache[length] = NSGT(*self.args, length)
        return self._cache[length]

    def nb_bins(self) -> int:
        freqs, _ = octave_frequencies(*self.args[:3])
        return int(np.sum((freqs > 0) & (freqs < self.args[3] / 2))) + 2

