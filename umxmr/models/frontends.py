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
from umxmr.models.slicq import SliCQ
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
    """umx-mr-7-whole: |NSGT| of the whole signal in and out; separation inverts the estimate
    with the mixture's NSGT phase and re-analyses it with the base STFT, so all targets share
    one Wiener filter. `model.nsgt.sliced: true` builds a `SlicedNsgtFrontend` instead."""

    def __init__(self, nsgt: CachedNSGT, n_fft: int, hop: int) -> None:
        self.nsgt = nsgt
        self.stft = STFT(n_fft, hop, center=True)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], rate: float, center: bool) -> NsgtFrontend | SlicedNsgtFrontend:
        scale = settings["model"].get("nsgt")
        if scale is None:
            raise ValueError("model.nsgt: the nsgt architecture needs {fmin, fmax, bins_per_octave, frame_pool}; set it in the variant's row")
        if scale.get("sliced", False):
            return SlicedNsgtFrontend.from_settings(settings, rate, center)
        nsgt = CachedNSGT(scale["fmin"], scale["fmax"], scale["bins_per_octave"], rate)
        return cls(nsgt, settings["stft"]["n_fft"], settings["stft"]["hop"])

    def nb_bins(self) -> int:
        return self.nsgt.nb_bins()

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


class SlicedNsgtFrontend:
    """umx-mr-7: the sliced NSGT (sliCQ, umxmr.models.slicq) of umx-nsgt / xumx-sliCQ.

    In (and the training target): each slice's |coefficients| overlap-added onto one time
    grid, `(..., nb_bins, (nb_slices + 1) · nb_coefs / 2)`, as xumx-sliCQ feeds its network.
    Back to audio (no learnt step): the estimate divided by the mixture's own grid magnitude
    is a mask on that grid (exactly the model's mask, as `NsgtUnmix` multiplies its mask with
    its input); each slice reads its window of the mask and multiplies the mixture's complex
    per-slice coefficients with it (so the mixture's phase), the inverse sliCQ gives audio,
    and its base-STFT magnitude goes to the same STFT Wiener filter as every other variant.
    """

    def __init__(self, slicq: SliCQ, n_fft: int, hop: int) -> None:
        self.slicq = slicq
        self.stft = STFT(n_fft, hop, center=True)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], rate: float, center: bool) -> SlicedNsgtFrontend:
        scale = settings["model"]["nsgt"]
        slicq = SliCQ(
            scale["scale"], scale["fmin"], scale["fmax"], scale["bins"], rate,
            scale.get("slice_length"), scale.get("transition_length"),
        )
        return cls(slicq, settings["stft"]["n_fft"], settings["stft"]["hop"])

    def to(self, device: torch.device) -> SlicedNsgtFrontend:
        self.stft.to(device)
        return self

    def nb_bins(self) -> int:
        return self.slicq.nb_bins

    def inputs(self, audio: Tensor) -> Tensor:
        return self.slicq.grid_magnitude(audio)

    def target(self, audio: Tensor) -> Tensor:
        return self.inputs(audio)

    def audio_estimate(self, estimate: Tensor, audio: Tensor) -> Tensor:
        """Grid magnitude estimate `(..., nb_bins, nb_frames)` → audio `(..., length)` via the
        per-slice mask on the mixture's sliCQ (0 where the mixture's grid magnitude is 0)."""
        mix = self.slicq.grid_magnitude(audio)
        mask = torch.where(mix > 0, estimate / mix.clamp_min(torch.finfo(mix.dtype).tiny), torch.zeros_like(mix))
        return self.slicq.masked_inverse(audio, mask)

    def stft_magnitude(self, estimate: Tensor, audio: Tensor) -> Tensor:
        return magnitude(self.stft(self.audio_estimate(estimate, audio)))


FRONTENDS = {"openunmix": StftFrontend, "multires": MultiStftFrontend, "nsgt": NsgtFrontend}
