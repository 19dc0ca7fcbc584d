"""umx-mr-4: Open-Unmix's core fed by three STFT resolutions at once.

Besides the base STFT (n_fft, hop) the model sees a "double" (n_fft·s, hop·s: finer in
frequency, coarser in time) and a "half" (n_fft/s, hop/s: coarser in frequency, finer in
time) resolution, s = `scale_factor` (2 or 4). All three are centred STFTs, so frame k of a
branch with hop h sits at sample k·h: the base frame k, the double frame k/s and the half
frame k·s are the same instant, and bin j of the base, bin j·s of the double and bin j/s
of the half the same frequency.

Each branch is normalised by its own learnable mean/scale (initialised from the dataset
statistics of its STFT), then convolutions with stride s and kernel s + 1, centred (padding
s/2), bring it onto the base grid:

- double: Conv2d over frequency (÷s), ConvTranspose2d over time (×s),
- half: ConvTranspose2d over frequency (×s), Conv2d over time (÷s),
- base: as it is.

The branches are cropped to the common frames and to the model's bins, concatenated on
channels and merged by a 1×1 Conv2d into `nb_channels` maps, which go through the
Open-Unmix core (umx-mr-3 switches in the config: GRU, activation before batch norm, no
bn3, output_mean 0). The output is a magnitude of the base STFT, so Wiener filtering and
the loss are unchanged. When cropping leaves fewer frames than the base STFT has (at most
s - 1 at the end), the last mask frame is repeated.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from umxmr.models.openunmix import OpenUnmix


def _normaliser(nb_bins: int, mean: np.ndarray | None, scale: np.ndarray | None) -> tuple[nn.Parameter, nn.Parameter]:
    """Learnable negated mean and inverse scale, as OpenUnmix stores its own."""
    m = torch.zeros(nb_bins) if mean is None else torch.from_numpy(-np.asarray(mean)[:nb_bins]).float()
    s = torch.ones(nb_bins) if scale is None else torch.from_numpy(1.0 / np.asarray(scale)[:nb_bins]).float()
    return nn.Parameter(m), nn.Parameter(s)


class MultiResUnmix(OpenUnmix):
    """Open-Unmix core on three STFT resolutions.

    Args:
        scale_factor: s, 2 or 4.
        nb_bins_double, nb_bins_half: STFT bins of the double and half resolution inputs.
        stats_double, stats_half: (mean, std) per bin of those STFTs, or None.
        **kwargs: OpenUnmix's arguments for the base STFT and the core.

    `forward((base, double, half))` takes the three magnitudes
    `(nb_samples, nb_channels, bins, frames)` and returns the target magnitude of the base.
    """

    def __init__(
        self,
        scale_factor: int,
        nb_bins_double: int,
        nb_bins_half: int,
        stats_double: tuple[np.ndarray, np.ndarray] | None = None,
        stats_half: tuple[np.ndarray, np.ndarray] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        s = scale_factor
        if s not in (2, 4):
            raise ValueError(f"model.scale_factor: {s} is not 2 or 4")
        self.scale_factor = s
        # the double's bins up to the base's last bin, the half's bins that cover it
        self.nb_bins_double = min(nb_bins_double, s * (self.nb_bins - 1) + 1)
        self.nb_bins_half = min(nb_bins_half, -(-(self.nb_bins - 1) // s) + 1)
        self.input_mean_double, self.input_scale_double = _normaliser(self.nb_bins_double, *(stats_double or (None, None)))
        self.input_mean_half, self.input_scale_half = _normaliser(self.nb_bins_half, *(stats_half or (None, None)))

        c, k, p = self.nb_channels, s + 1, s // 2
        self.double_freq = nn.Conv2d(c, c, (k, 1), stride=(s, 1), padding=(p, 0))
        self.double_time = nn.ConvTranspose2d(c, c, (1, k), stride=(1, s), padding=(0, p))
        self.half_freq = nn.ConvTranspose2d(c, c, (k, 1), stride=(s, 1), padding=(p, 0))
        self.half_time = nn.Conv2d(c, c, (1, k), stride=(1, s), padding=(0, p))
        self.merge = nn.Conv2d(3 * c, c, 1)

    def branches(self, mags: tuple[Tensor, Tensor, Tensor]) -> list[Tensor]:
        """The three branches on the base grid, `(nb_samples, nb_channels, bins, frames)`, uncropped."""
        base, double, half = mags
        base = self._normalise(base, self.nb_bins, self.input_mean, self.input_scale)
        double = self._normalise(double, self.nb_bins_double, self.input_mean_double, self.input_scale_double)
        half = self._normalise(half, self.nb_bins_half, self.input_mean_half, self.input_scale_half)
        return [base, self.double_time(self.double_freq(double)), self.half_time(self.half_freq(half))]

    @staticmethod
    def _normalise(mag: Tensor, nb_bins: int, mean: Tensor, scale: Tensor) -> Tensor:
        return (mag[:, :, :nb_bins].transpose(2, 3) + mean).mul(scale).transpose(2, 3)

    def nb_core_frames(self, nb_base: int, nb_double: int, nb_half: int) -> int:
        """Frames the core sees for STFTs of `nb_base`, `nb_double`, `nb_half` frames (the
        branches' common frames, as `forward` crops them): the double's transposed
        convolution ends at base frame (nb_double - 1)·s, up to s - 1 frames before the base's end."""
        s = self.scale_factor
        return min(nb_base, (nb_double - 1) * s + 1, (nb_half - 1) // s + 1)

    def input_frames(self, first: int, stop: int, nb_double: int, nb_half: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """Frames `[lo, hi)` of the double and of the half STFT that the features of base frames
        `[first, stop)` read (`first` a multiple of s), within the track.

        double (hop·s): frames first/s … (stop - 1 + s/2)//s: the transposed convolution (kernel
        s + 1, stride s, padding s/2) spreads double frame i over base frames i·s ± s/2, so the
        block reads one double frame past its own (a halo of one double frame after it).
        half (hop/s): frames first·s - s/2 … (stop - 1)·s + s/2: output frame t reads the window
        of s + 1 half frames centred on half frame t·s, so the block reads s/2 half frames
        before its own and s/2 - 1 fewer at its end (n·s + 1 frames for n base frames).
        Frames outside the track are the convolution's zero padding (`block_features`).
        """
        s, p = self.scale_factor, self.scale_factor // 2
        double = (first // s, min(nb_double, (stop - 1 + p) // s + 1))
        half = (max(0, first * s - p), min(nb_half, (stop - 1) * s + p + 1))
        return double, half

    def block_features(
        self, base: Tensor, double: Tensor, half: Tensor, first: int, stop: int, double_from: int, half_from: int
    ) -> Tensor:
        """The merged features `forward` gives its core, for base frames `[first, stop)` only:
        `(nb_samples, nb_channels, nb_bins, stop - first)`.

        `base`: base magnitude frames `[first, stop)`; `double`, `half`: magnitude frames of
        those STFTs from `double_from`, `half_from` (`input_frames` says which are needed; any
        needed frame not given counts as outside the track: no contribution to the transposed
        convolution, zero padding of the strided one). `first` must be a multiple of s and
        `stop` at most `nb_core_frames`. Every layer but the two time convolutions is
        frame-wise, so this equals `forward`'s features of those frames up to float rounding.
        """
        s, p, n = self.scale_factor, self.scale_factor // 2, stop - first
        if first % s:
            raise ValueError(f"block_features: first frame {first} is not a multiple of the scale factor {s}")
        base = self._normalise(base, self.nb_bins, self.input_mean, self.input_scale)
        # double: its frames first/s ... placed on a zero grid, transposed convolution without its
        # padding: output u is base frame first - s/2 + u
        lo = first // s
        double = self.double_freq(self._normalise(double, self.nb_bins_double, self.input_mean_double, self.input_scale_double))
        grid = double.new_zeros(*double.shape[:-1], (n + p - 1) // s + 1)
        grid[..., double_from - lo : double_from - lo + double.shape[-1]] = double[..., : grid.shape[-1] - (double_from - lo)]
        w = self.double_time
        double = F.conv_transpose2d(grid, w.weight, w.bias, stride=w.stride)[..., p : p + n]
        # half: frames first·s - s/2 ... (n·s + 1 of them) on a zero grid, strided convolution
        # without its padding: n output frames
        lo = first * s - p
        half = self.half_freq(self._normalise(half, self.nb_bins_half, self.input_mean_half, self.input_scale_half))
        grid = half.new_zeros(*half.shape[:-1], n * s + 1)
        start = half_from - lo
        grid[..., max(0, start) : start + half.shape[-1]] = half[..., max(0, -start) : grid.shape[-1] - start]
        w = self.half_time
        half = F.conv2d(grid, w.weight, w.bias, stride=w.stride)
        return self.merge(torch.cat([b[:, :, : self.nb_bins] for b in (base, double, half)], dim=1))

    def forward(self, mags: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        mix = mags[0].detach().clone()
        nb_frames_out = mix.shape[-1]
        branches = self.branches(mags)
        nb_frames = min(b.shape[-1] for b in branches)
        x = self.merge(torch.cat([b[:, :, : self.nb_bins, :nb_frames] for b in branches], dim=1))
        # to (nb_frames, nb_samples, nb_channels, nb_bins) for the core, and back
        mask = self.core(x.permute(3, 0, 1, 2)).permute(1, 2, 3, 0)
        # hold the last mask frame over base frames the other branches do not reach
        missing = mask[..., -1:].expand(*mask.shape[:-1], nb_frames_out - nb_frames)
        return torch.cat([mask, missing], dim=-1) * mix
