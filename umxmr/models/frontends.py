"""Front ends: what a model reads from the audio, what it is trained to predict, and how
its prediction becomes a magnitude of the base STFT for the Wiener filter.

Training calls `model(frontend.inputs(mixture))` and compares it with
`frontend.target(source)`; separation calls `frontend.stft_magnitude(estimate, mixture)` to
get the magnitude norbert filters with the mixture's base STFT (`settings.stft`). So every
architecture trains and separates through the same two code paths; a model that needs
more than one magnitude of the base STFT brings its own front end.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from umxmr.models.nsgt import CachedNSGT
from umxmr.resolutions import scaled_resolutions
from umxmr.models.transforms import STFT, magnitude


class StftFrontend:
    """Open-Unmix's: |STFT| in, |STFT| out (centred in separation, not in training)."""

    def __init__(self, n_fft: int, hop: int, center: bool) -> None:
        self.stft = STFT(n_fft, hop, center=center)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], rate: float, center: bool) -> StftFrontend:
        return cls(settings["stft"]["n_fft"], settings["stft"]["hop"], center)

    def to(self, device: torch.device) -> StftFrontend:
        self.stft.to(device)
        return self

    def inputs(self, audio: Tensor) -> Tensor:
        return magnitude(self.stft(audio))

    def target(self, audio: Tensor) -> Tensor:
        return magnitude(self.stft(audio))

    def stft_magnitude(self, estimate: Tensor, audio: Tensor) -> Tensor:
        return estimate


class MultiStftFrontend(StftFrontend):
    """umx-mr-4: magnitudes of the base, double and half STFTs; predicts the base's.

    Always centred (also in training): only centred frames of different hops line up.
    """

    def __init__(self, resolutions: list[tuple[int, int]]) -> None:
        super().__init__(*resolutions[0], center=True)
        self.others = [STFT(n_fft, hop, center=True) for n_fft, hop in resolutions[1:]]

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], rate: float, center: bool) -> MultiStftFrontend:
        return cls(scaled_resolutions(settings))

    def to(self, device: torch.device) -> MultiStftFrontend:
        for stft in [self.stft, *self.others]:
            stft.to(device)
        return self

    def inputs(self, audio: Tensor) -> tuple[Tensor, ...]:
        return tuple(magnitude(stft(audio)) for stft in [self.stft, *self.others])


class NsgtFrontend:
    """umx-mr-7: |NSGT| in and out; separation inverts the estimate with the mixture's NSGT
    phase and re-analyses it with the base STFT, so all targets share one Wiener filter."""

    def __init__(self, nsgt: CachedNSGT, n_fft: int, hop: int) -> None:
        self.nsgt = nsgt
        self.stft = STFT(n_fft, hop, center=True)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], rate: float, center: bool) -> NsgtFrontend:
        scale = settings["model"].get("nsgt")
        if scale is None:
            raise ValueError("model.nsgt: the nsgt architecture needs {fmin, fmax, bins_per_octave, frame_pool}; set it in the variant's row")
        nsgt = CachedNSGT(scale["fmin"], scale["fmax"], scale["bins_per_octave"], rate)
        return cls(nsgt, settings["stft"]["n_fft"], settings["stft"]["hop"])

    def to(self, device: torch.device) -> NsgtFrontend:
        self.stft.to(device)
        return self

    def inputs(self, audio: Tensor) -> Tensor:
        return self.nsgt(audio.shape[-1]).forward(audio).abs()

    def target(self, audio: Tensor) -> Tensor:
        return self.inputs(audio)

    def stft_magnitude(self, estimate: Tensor, audio: Tensor) -> Tensor:
        transform = self.nsgt(audio.shape[-1])
        phase = transform.forward(audio).angle()
        return magnitude(self.stft(transform.inverse(torch.polar(estimate, phase))))


FRONTENDS = {"openunmix": StftFrontend, "multires": MultiStftFrontend, "nsgt": NsgtFrontend}
