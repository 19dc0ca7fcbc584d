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
