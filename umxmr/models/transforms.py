"""Multichannel STFT/ISTFT and magnitude, as Open-Unmix computes them.

Training uses `center=False` (as open-unmix's training script), separation `center=True`
(as its Separator) so the inverse reconstructs the whole signal.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn


def bandwidth_to_max_bin(rate: float, n_fft: int, bandwidth: float) -> int:
    """Number of STFT bins at or below `bandwidth` Hz (open-unmix's `max_bin`)."""
    freqs = np.linspace(0, rate / 2, n_fft // 2 + 1, endpoint=True)
    return int(np.max(np.where(freqs <= bandwidth)[0]) + 1)


class _HannFilterbank(nn.Module):
    """FFT size, hop, centring and the periodic Hann window shared by STFT and ISTFT."""

    def __init__(self, n_fft: int, hop: int, center: bool) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.hop = hop
        self.center = center
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)


class STFT(_HannFilterbank):
    """Complex STFT of `(nb_samples, nb_channels, nb_timesteps)` audio.

    Returns a complex tensor `(nb_samples, nb_channels, nb_bins, nb_frames)`.
    Periodic Hann window, reflect padding when centred, no normalisation.
    """

    def __init__(self, n_fft: int = 4096, hop: int = 1024, center: bool = False) -> None:
        super().__init__(n_fft, hop, center)

    def forward(self, x: Tensor) -> Tensor:
        nb_samples, nb_channels, nb_timesteps = x.shape
        spec = torch.stft(
            x.reshape(-1, nb_timesteps),
            n_fft=self.n_fft,
            hop_length=self.hop,
            window=self.window,
            center=self.center,
            normalized=False,
            onesided=True,
            pad_mode="reflect",
            return_complex=True,
        )
        return spec.reshape(nb_samples, nb_channels, *spec.shape[-2:])


class ISTFT(_HannFilterbank):
    """Inverse of `STFT`: complex `(..., nb_channels, nb_bins, nb_frames)` to audio."""

    def __init__(self, n_fft: int = 4096, hop: int = 1024, center: bool = True) -> None:
        super().__init__(n_fft, hop, center)

    def forward(self, spec: Tensor, length: int | None = None) -> Tensor:
        lead = spec.shape[:-2]
        audio = torch.istft(
            spec.reshape(-1, *spec.shape[-2:]),
            n_fft=self.n_fft,
            hop_length=self.hop,
            window=self.window,
            center=self.center,
            normalized=False,
            onesided=True,
            length=length,
        )
        return audio.reshape(*lead, audio.shape[-1])


def magnitude(spec: Tensor, mono: bool = False) -> Tensor:
    """|STFT| (power 1); `mono` averages channels in the magnitude domain, as open-unmix."""
    mag = spec.abs()
    return mag.mean(1, keepdim=True) if mono else mag
