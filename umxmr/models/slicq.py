"""Sliced constant-Q NSGT (sliCQ) in torch, with its exact inverse.

The transform of umx-nsgt and xumx-sliCQ: the signal is cut into slices of `slice_length`
samples, hop `slice_length / 2`, each weighted by a Tukey window whose flat top is the
middle half of the slice and whose transitions are `transition_length` samples long; each
slice gets an NSGT with Blackman-Harris windows in frequency, all bands zero-padded to the
longest one (matrix form). Same transform as PyPI `nsgt` 0.19's
`NSGT_sliced(scale, sl_len, tr_area, fs, real=True, matrixform=True)` (default
`min_win=16`, `Qvar=1`, no reconstruction window), including its slice rotation
(`slicing`, `arrange`) and its painless dual frame; vectorised over slices and bands: the
forward transform is an FFT per slice, one gather, a product and an inverse FFT per band;
the inverse an FFT per band, a product, a scatter-add and an inverse real FFT per slice,
then overlap-add. Checked against `nsgt` in tests/test_slicq.py (stored coefficients made
by bench/slicq_reference.py).

Scales (`nsgt.fscale`): `oct` (`bins` bands per octave), `mel` and `bark` (`bins` bands in
all, equally spaced in mel, Hz = 700·(10^(m/2595) − 1), or in Bark, Hz = 600·sinh(b/6),
xumx-sliCQ's `BarkScale`; nsgt 0.19 has no Bark scale). Q as nsgt's `Scale.Q`: the
numerical derivative of the band frequency (a constant for `oct`).

Slice lengths: nsgt warns when a band's Q is at least `f · slice_length / (8 · rate)`, i.e.
the slice must be longer than 8 times the longest window (Q · rate / f, the lowest band's);
`smallest_slice_lengths` gives the smallest multiple of 4 above that and a transition of
a quarter of it, rounded up to even (the rule of xumx-sliCQ's `suggested_sllen_trlen`:
the transition then spans twice the longest window, while nsgt only demands an even
transition shorter than half the slice).

Shapes: audio `(..., length)` ↔ coefficients `(..., nb_slices, nb_bins, nb_coefs)`
(complex), bins = DC, the bands below Nyquist, Nyquist; `nb_coefs` per slice.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from umxmr.models.blocked import Reader

SCALES = ("oct", "mel", "bark")
_DBND = 1.0e-8  # nsgt's Scale.dbnd, the step of its numerical Q


def _band_frequency(scale: str, fmin: float, fmax: float, bins: int):
    """`F(band)` of nsgt's OctScale / MelScale and xumx-sliCQ's BarkScale, and the number of bands."""
    if scale == "oct":
        lfmin, lfmax = np.log2(fmin), np.log2(fmax)
        nb = int(np.ceil((lfmax - lfmin) * bins)) + 1
        pow2n = 2 ** ((lfmax - lfmin) / (nb - 1))
        return (lambda b: fmin * pow2n**b), nb, float(np.sqrt(pow2n) / (pow2n - 1.0) / 2.0)
    if scale == "mel":
        mmin, mmax = np.log10(fmin / 700.0 + 1.0) * 2595.0, np.log10(fmax / 700.0 + 1.0) * 2595.0
        step = (mmax - mmin) / (bins - 1)
        return (lambda b: (np.power(10.0, (b * step + mmin) / 2595.0) - 1.0) * 700.0), bins, None
    if scale == "bark":
        bmin, bmax = 6 * np.arcsinh(fmin / 600.0), 6 * np.arcsinh(fmax / 600.0)
        step = (bmax - bmin) / (bins - 1)
        return (lambda b: 600.0 * np.sinh((b * step + bmin) / 6.0)), bins, None
    raise ValueError(f"model.nsgt.scale: {scale!r} is not one of {', '.join(SCALES)}")


def scale_frequencies(scale: str, fmin: float, fmax: float, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Band centre frequencies (Hz) and Q factors, as nsgt's `Scale.__call__`.

    `bins`: bands per octave for `oct`, bands in all for `mel` and `bark`.
    Raises ValueError for an unknown scale or fmin/fmax/bins out of range.
    """
    if not 0 < fmin < fmax:
        raise ValueError(f"model.nsgt: need 0 < fmin < fmax, got fmin {fmin}, fmax {fmax}")
    if bins < (1 if scale == "oct" else 2):
        raise ValueError(f"model.nsgt.bins: {bins} is too few bands for the {scale} scale")
    f_of, nb, q_const = _band_frequency(scale, fmin, fmax, bins)
    freqs = np.array([f_of(b) for b in range(nb)], dtype=float)
    if q_const is not None:
        return freqs, np.full(nb, q_const)
    q = np.array([f_of(b) * _DBND / (f_of(b + _DBND) - f_of(b - _DBND)) for b in range(nb)], dtype=float)
    return freqs, q


def _in_band(freqs: np.ndarray, q: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Bands strictly between 0 and Nyquist (nsgt's `nsgfwin` drops the others)."""
    keep = (freqs > 0) & (freqs < rate / 2.0)
    return freqs[keep], q[keep]


def smallest_slice_lengths(freqs: np.ndarray, q: np.ndarray, rate: float) -> tuple[int, int]:
    """The smallest slice length nsgt accepts without its Q warning, and the transition length.

    Slice: the smallest multiple of 4 above `max(8 · Q · rate / f)` (8 × the longest window);
    transition: a quarter of it, rounded up to even (xumx-sliCQ's rule).
    """
    freqs, q = _in_band(freqs, q, rate)
    slice_length = int(np.floor(np.max(8.0 * q * rate / freqs))) + 1
    slice_length += -slice_length % 4
    transition = slice_length // 4
    return slice_length, transition + transition % 2


def blackman_harris(length: int) -> np.ndarray:
    """nsgt's `blackharr(n)` (modified coefficients), peak at index 0."""
    k = np.arange(length)
    nn = (length // 2) * 2
    bh = 0.35872 - 0.48832 * np.cos(k * (2 * np.pi / nn)) + 0.14128 * np.cos(k * (4 * np.pi / nn)) - 0.01168 * np.cos(k * (6 * np.pi / nn))
    return np.concatenate((bh[-length // 2 :], bh[: -length // 2]))


def _hann(length: int) -> np.ndarray:
    """Hann window with its peak at index 0 (nsgt's `hannwin`)."""
    return 0.5 * (1.0 + np.cos(np.arange(length) * 2.0 * np.pi / length))


def sliced_windows(freqs: np.ndarray, q: np.ndarray, rate: float, slice_length: int, min_win: int = 16) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Frequency windows, centres (even FFT bins) and lengths of all 2·(K+1) bands, as nsgt's
    `nsgfwin(..., sliced=True)`: DC, the K bands, Nyquist, then the K mirrored bands."""
    freqs, q = _in_band(freqs, q, rate)
    nb = len(freqs)
    frqs = np.concatenate(([0.0], freqs, [rate / 2.0]))
    fbas = np.concatenate((frqs, rate - frqs[-2:0:-1])) * (float(slice_length) / rate)
    lens = np.zeros(fbas.shape)
    lens[0] = 2 * fbas[1]
    lens[1] = fbas[1] / q[0]
    for k in [*range(2, nb), nb + 1]:
        lens[k] = fbas[k + 1] - fbas[k - 1]
    lens[nb] = fbas[nb] / q[nb - 1]
    lens[nb + 2 : 2 * (nb + 1)] = lens[nb:0:-1]
    lens = np.maximum(np.round(lens / 4.0).astype(int) * 4, min_win)
    windows = [blackman_harris(m) for m in lens]
    for kk in (1, nb + 2):  # DC and Nyquist: flat top where wider than their neighbour
        if lens[kk - 1] > lens[kk]:
            flat = np.ones(lens[kk - 1])
            flat[lens[kk - 1] // 2 - lens[kk] // 2 : lens[kk - 1] // 2 + int(math.ceil(lens[kk] / 2.0))] = _hann(lens[kk])
            windows[kk - 1] = flat
    return windows, np.round(fbas / 2.0).astype(int) * 2, lens


def tukey_slice_window(slice_length: int, transition_length: int) -> np.ndarray:
    """nsgt's `makewnd`: 0, a Hann rise centred at slice/4, 1, a fall centred at 3·slice/4, 0."""
    quarter, half_tr = slice_length // 4, transition_length // 2
    hann = _hann(2 * transition_length)
    window = np.zeros(slice_length)
    window[quarter - half_tr : quarter + half_tr] = hann[transition_length:]
    window[quarter + half_tr : 3 * quarter - half_tr] = 1.0
    window[3 * quarter - half_tr : 3 * quarter + half_tr] = hann[:transition_length]
    return window


class SliCQ:
    """Sliced NSGT of real signals, coefficients as a matrix per slice.

    `forward`: audio `(..., length)` → complex `(..., nb_slices, nb_bins, nb_coefs)`;
    `inverse`: those coefficients and the length back to audio. Raises ValueError for
    slice/transition lengths nsgt refuses (slice not a multiple of 4 or not above twice
    the transition, odd transition) or a slice shorter than `smallest_slice_lengths`.
    """

    def __init__(
        self, scale: str, fmin: float, fmax: float, bins: int, rate: float,
        slice_length: int | None = None, transition_length: int | None = None,
    ) -> None:
        freqs, q = scale_frequencies(scale, fmin, fmax, bins)
        smallest, default_transition = smallest_slice_lengths(freqs, q, rate)
        slice_length = smallest if slice_length is None else int(slice_length)
        transition_length = (default_transition if slice_length == smallest else (slice_length // 4) + (slice_length // 4) % 2) if transition_length is None else int(transition_length)
        if slice_length % 4 or transition_length % 2 or not 0 <= 2 * transition_length < slice_length:
            raise ValueError(
                f"model.nsgt: slice_length {slice_length} must be a multiple of 4 and above twice transition_length "
                f"{transition_length}, which must be even"
            )
        if slice_length < smallest:
            raise ValueError(f"model.nsgt.slice_length: {slice_length} is below {smallest}, the smallest this scale allows (8 × its longest window)")
        self.scale, self.rate = scale, rate
        self.slice_length, self.transition_length = slice_length, transition_length
        self.freqs = _in_band(freqs, q, rate)[0]
        g, centres, lens = sliced_windows(freqs, q, rate, slice_length)
        self.window_lengths = lens
        nb_coefs = int(lens.max())  # matrix form: every band gets the longest band's length
        self.nb_coefs = nb_coefs
        # window ranges (nsgt's calcwinrange); the shifts sum to the slice length
        shift = np.concatenate(([np.mod(-centres[-1], slice_length)], np.diff(centres)))
        positions = np.cumsum(shift) - shift[0]
        ranges = [np.arange(-(len(w) // 2) + p, len(w) - len(w) // 2 + p) % slice_length for w, p in zip(g, positions)]
        # painless dual frame (nsgt's nsdual, with the matrix form's lengths)
        diag = np.zeros(slice_length)
        for w, r in zip(g, ranges):
            diag[r] += np.fft.fftshift(w) ** 2 * nb_coefs
        dual = [w / np.fft.ifftshift(diag[r]) for w, r in zip(g, ranges)]
        self.windows, self.dual_windows, self.ranges = g, dual, ranges
        nb_all = len(g)
        index = np.zeros((nb_all, nb_coefs), dtype=np.int64)
        weight = np.zeros((nb_all, nb_coefs))
        dual_weight = np.zeros((nb_all, nb_coefs))
        for k in range(nb_all):
            m, r = len(g[k]), ranges[k]
            up, down = (m + 1) // 2, m // 2  # upper half (from the centre) first, lower half last
            index[k, :up], index[k, nb_coefs - down :] = r[down:], r[:down]
            weight[k, :up], weight[k, nb_coefs - down :] = g[k][:up], g[k][m - down :]
            dual_weight[k, :up] = dual[k][:up] * nb_coefs
            dual_weight[k, nb_coefs - down :] = dual[k][m - down :] * nb_coefs
        self.nb_bins = nb_all // 2 + 1  # DC, bands, Nyquist
        self.index = torch.from_numpy(index)
        self.weight = torch.from_numpy(weight[: self.nb_bins])
        self.dual_weight = torch.from_numpy(dual_weight)
        self.slice_window = torch.from_numpy(tukey_slice_window(slice_length, transition_length))

    @property
    def hop(self) -> int:
        """Samples between slices (half a slice)."""
        return self.slice_length // 2

    def nb_slices(self, length: int) -> int:
        """Slices of a signal of `length` samples (nsgt's: two quarter-slice blocks of zeros
        before, the signal in quarter-slice blocks, three blocks of zeros after)."""
        blocks = -(-length // (self.slice_length // 4))
        return (blocks + 1) // 2 + 1

    def slices(self, audio: Tensor) -> Tensor:
        """`(..., length)` → windowed, rotated slices `(..., nb_slices, slice_length)` (nsgt's `slicing`)."""
        length, quarter = audio.shape[-1], self.slice_length // 4
        nb = self.nb_slices(length)
        padded = torch.nn.functional.pad(audio, (2 * quarter, (nb + 1) * self.hop - length - 2 * quarter))
        segments = padded.unfold(-1, self.slice_length, self.hop) * self.slice_window.to(audio.device, audio.dtype)
        # nsgt rotates even slices a quarter to the left, odd ones a quarter to the right
        return self._rotate(segments, quarter)

    def slice_range(self, read: Reader, length: int, first: int, stop: int) -> Tensor:
        """Slices `[first, stop)` of `slices(audio)` for a signal of `length` samples, from only
        the samples they cover, read through `read` (`umxmr.models.blocked.Reader`): slice i
        covers samples `[(i - 1) · hop, (i + 1) · hop)`, zeros outside the signal."""
        if not 0 <= first < stop <= self.nb_slices(length):
            raise ValueError(f"sliCQ slices [{first}, {stop}) of a signal with {self.nb_slices(length)} slices")
        start, end = (first - 1) * self.hop, stop * self.hop
        inside = read(max(0, start), max(0, min(length, end)))
        before = min(end, max(0, -start))
        segment = torch.nn.functional.pad(inside, (before, end - start - before - inside.shape[-1]))
        segments = segment.unfold(-1, self.slice_length, self.hop) * self.slice_window.to(segment.device, segment.dtype)
        return self._rotate(segments, self.slice_length // 4, first)

    def column_slices(self, first: int, stop: int, length: int) -> tuple[int, int]:
        """Slices `[lo, hi)` whose |coefficients| `overlap_add` puts on grid columns `[first, stop)`
        of a signal of `length` samples: slice i covers columns `[i · c, (i + 2) · c)`
        (c = nb_coefs / 2), so column j reads slices j // c - 1 and j // c (those that exist):
        a halo of one whole slice before the slice the first column starts in."""
        half = self.nb_coefs // 2
        return max(0, first // half - 1), min(self.nb_slices(length), (stop - 1) // half + 1)

    @staticmethod
    def _rotate(x: Tensor, shift: int, first: int = 0) -> Tensor:
        """Roll even entries of dim -2 by −shift and odd ones by +shift along dim -1; entry k of
        dim -2 is slice `first + k` (its parity decides)."""
        out = torch.empty_like(x)
        even, odd = first % 2, 1 - first % 2
        out[..., even::2, :] = x[..., even::2, :].roll(-shift, -1)
        out[..., odd::2, :] = x[..., odd::2, :].roll(shift, -1)
        return out

    def analyse(self, slices: Tensor, first: int = 0) -> Tensor:
        """Rotated slices `(..., nb_slices, slice_length)` → coefficients `(..., nb_slices, nb_bins, nb_coefs)`
        (`first`: the index of the first slice given; its parity sets the rotation)."""
        spec = torch.fft.fft(slices)
        coefs = torch.fft.ifft(spec[..., self.index[: self.nb_bins].to(spec.device)] * self.weight.to(spec.device, slices.dtype))
        # nsgt's `arrange`: undo the slice rotation on the coefficients' time axis
        return self._rotate(coefs.transpose(-3, -2), -(self.nb_coefs // 4), first).transpose(-3, -2)

    def synthesise(self, coefs: Tensor, first: int = 0) -> Tensor:
        """Coefficients `(..., nb_slices, nb_bins, nb_coefs)` → rotated slices `(..., nb_slices, slice_length)`
        (`first`: the index of the first slice given)."""
        if coefs.shape[-2:] != (self.nb_bins, self.nb_coefs):
            raise ValueError(f"sliCQ inverse: coefficients {tuple(coefs.shape)} do not end in {self.nb_bins} bins × {self.nb_coefs} coefficients")
        coefs = self._rotate(coefs.transpose(-3, -2), self.nb_coefs // 4, first).transpose(-3, -2)
        spec = torch.fft.fft(coefs)
        # mirrored bands (nsgt's fftsymm): conj of the positive band's spectrum at −n
        flip = (-torch.arange(self.nb_coefs, device=spec.device)) % self.nb_coefs
        mirror = torch.arange(self.nb_bins - 2, 0, -1, device=spec.device)
        spec = torch.cat([spec, spec[..., mirror, :][..., flip].conj()], -2) * self.dual_weight.to(spec.device, coefs.real.dtype)
        batch = spec.shape[:-2]
        full = torch.zeros(*batch, self.slice_length, dtype=spec.dtype, device=spec.device)
        index = self.index.to(spec.device).reshape(-1).expand(*batch, -1)
        full = full.scatter_add(-1, index, spec.reshape(*batch, -1))
        return torch.fft.irfft(full[..., : self.slice_length // 2 + 1], n=self.slice_length)

    def forward(self, audio: Tensor, chunk: int = 32) -> Tensor:
        """Audio `(..., length)` → coefficients `(..., nb_slices, nb_bins, nb_coefs)`, `chunk` slices at a time
        (the result does not depend on it; it bounds the FFT intermediates)."""
        slices = self.slices(audio)
        return torch.cat([self.analyse(part) for part in slices.split(chunk, dim=-2)], -3)

    def inverse(self, coefs: Tensor, length: int, chunk: int = 32) -> Tensor:
        """Coefficients `(..., nb_slices, nb_bins, nb_coefs)` → audio `(..., length)`, `chunk` slices at a time."""
        if coefs.shape[-3] != self.nb_slices(length):
            raise ValueError(
                f"sliCQ inverse: coefficients {tuple(coefs.shape)} do not fit {self.nb_slices(length)} slices × "
                f"{self.nb_bins} bins × {self.nb_coefs} coefficients for {length} samples"
            )
        return self.unslice(torch.cat([self.synthesise(part) for part in coefs.split(chunk, dim=-3)], -2), length)

    def unslice(self, slices: Tensor, length: int) -> Tensor:
        """Rotated slices `(..., nb_slices, slice_length)` → overlap-added audio `(..., length)` (nsgt's `unslicing`)."""
        slices = self._rotate(slices, -(self.slice_length // 4))
        halves = slices.unflatten(-1, (2, self.hop))
        nb = slices.shape[-2]
        out = torch.zeros(*slices.shape[:-2], nb + 1, self.hop, dtype=slices.dtype, device=slices.device)
        out[..., :nb, :] += halves[..., 0, :]
        out[..., 1:, :] += halves[..., 1, :]
        # the first half slice is the leading padding
        return out.flatten(-2)[..., self.hop : self.hop + length]

    def overlap_add(self, values: Tensor) -> Tensor:
        """Per-slice values `(..., nb_slices, nb_bins, nb_coefs)` → one time grid `(..., nb_bins, nb_frames)`:
        slices overlap by half, so `nb_frames = (nb_slices + 1) · nb_coefs / 2` (xumx-sliCQ's overlap-add)."""
        half = self.nb_coefs // 2
        nb = values.shape[-3]
        halves = values.unflatten(-1, (2, half))
        out = torch.zeros(*values.shape[:-3], nb + 1, self.nb_bins, half, dtype=values.dtype, device=values.device)
        out[..., :nb, :, :] += halves[..., 0, :]
        out[..., 1:, :, :] += halves[..., 1, :]
        return out.permute(*range(out.dim() - 3), -2, -3, -1).flatten(-2)

    def grid_magnitude(self, audio: Tensor, chunk: int = 32) -> Tensor:
        """`overlap_add(forward(audio).abs())` computed `chunk` slices at a time, so that the
        complex coefficients of the whole signal are never held: `(..., nb_bins, nb_frames)`."""
        slices = self.slices(audio)
        half, nb = self.nb_coefs // 2, slices.shape[-2]
        out = torch.zeros(*slices.shape[:-2], self.nb_bins, (nb + 1) * half, dtype=slices.dtype, device=slices.device)
        for first in range(0, nb, chunk):
            part = self.overlap_add(self.analyse(slices[..., first : first + chunk, :]).abs())
            out[..., first * half : first * half + part.shape[-1]] += part
        return out

    def masked_inverse(self, audio: Tensor, mask: Tensor, chunk: int = 32) -> Tensor:
        """Audio `(..., length)` and a mask on its grid `(..., nb_bins, nb_frames)` → the inverse
        of the mixture's per-slice coefficients times each slice's window of the mask,
        `(..., length)`; `chunk` slices at a time (equal to
        `inverse(frames_to_slices(mask) * forward(audio), length)`)."""
        slices = self.slices(audio)
        windows = self.frames_to_slices(mask)
        out = [
            self.synthesise(self.analyse(slices[..., first : first + chunk, :]) * windows[..., first : first + chunk, :, :])
            for first in range(0, slices.shape[-2], chunk)
        ]
        return self.unslice(torch.cat(out, -2), audio.shape[-1])

    def frames_to_slices(self, frames: Tensor) -> Tensor:
        """The inverse of the grid: `(..., nb_bins, nb_frames)` → each slice's window of it
        `(..., nb_slices, nb_bins, nb_coefs)` (slice i reads frames i·nb_coefs/2 onwards)."""
        return frames.unfold(-1, self.nb_coefs, self.nb_coefs // 2).transpose(-3, -2)


class SliceOverlapAdd:
    """`SliCQ.unslice` fed consecutive rotated slices (from `synthesise`), as
    `umxmr.models.blocked.OverlapAdd` is the inverse STFT by blocks.

    `push(slices)` takes slices `(..., n, slice_length)` following those pushed before and
    returns the output samples `(..., m)` that no later slice touches; after the last of the
    signal's `nb_slices(length)` slices every sample up to `length` has been returned. Holds
    only the second half of the last slice pushed between calls.
    """

    def __init__(self, slicq: SliCQ, length: int) -> None:
        self.slicq, self.length = slicq, length
        self.total = slicq.nb_slices(length)
        self.pushed = 0  # slices pushed so far
        self.emitted = 0  # output samples returned so far
        self.tail: Tensor | None = None  # second half of the last slice: positions [pushed · hop, ...)

    def push(self, slices: Tensor) -> Tensor:
        first, n, hop = self.pushed, slices.shape[-2], self.slicq.hop
        if first + n > self.total:
            raise ValueError(f"{first + n} slices pushed, the signal has {self.total}")
        halves = SliCQ._rotate(slices, -(self.slicq.slice_length // 4), first).unflatten(-1, (2, hop))
        out = torch.zeros(*slices.shape[:-2], n + 1, hop, dtype=slices.dtype, device=slices.device)
        out[..., :n, :] += halves[..., 0, :]
        out[..., 1:, :] += halves[..., 1, :]
        if self.tail is not None:
            out[..., 0, :] += self.tail
        self.pushed += n
        if self.pushed < self.total:  # the last half waits for the next slice (a copy: `out` is freed)
            self.tail, out = out[..., n, :].clone(), out[..., :n, :]
        # out[..., 0, 0] is position first · hop; the first half slice is the leading padding
        flat = out.flatten(-2)
        start = max(self.emitted, first * hop - hop)
        stop = min(self.length, first * hop - hop + flat.shape[-1])
        piece = flat[..., start - (first * hop - hop) : max(start, stop) - (first * hop - hop)]
        self.emitted = max(start, stop)
        return piece
