"""The validation SDR that a training records with `train.valid_sdr: true`.

What open-unmix users keep asking for (its training logs only losses): every
`train.valid_sdr_every` epochs, and at the run's last epoch, each validation track is separated
by the model alone, as the separation would do it without the Wiener filter: the model's
magnitude of the target on the centred base STFT (separation's framing, through the front end's
`stft_magnitude`, so every architecture works) with the mixture's phase, inverted by the centred
inverse STFT to the mixture's length. Its SDR is museval v4's (:mod:`umxmr.framewise_sdr`, the
exact framewise SNR) with museval's framing (`evaluation.win`/`hop`, 1 s at 44.1 kHz: 44100
samples), the silence mask of this target's reference and this estimate only (a single-source
pass, unlike a four-target museval evaluation), the median over the frames that are not NaN;
then the median over tracks. Early stopping and the learning-rate schedule never see it.

Why its own forward pass: the validation loss runs open-unmix's non-centred training STFT,
whose frames cannot be inverted at a track's edges (the Hann window is zero at the first sample,
and no frame covers the samples after the last whole frame); the centred frames of separation
can. So the SDR costs one more forward pass per validation track, plus the inverse STFT and the
SNR (bench/README.md).

Arithmetic: the model runs in float32 with no autocast (as separation, whatever
`train.precision`); the mixture's STFT that gives the phase and the inverse STFT run in float64,
in blocks of frames (:mod:`umxmr.models.blocked`, as separation walks a track), so memory stays
about that of the validation loss pass. Separation rounds its phase and inverse to float32:
the difference is a few 1e-7 of the signal, far below any SDR digit that matters.

A track whose reference is silent throughout (museval refuses it) or whose estimate is, or whose
every frame is masked, has no SDR and is left out of the median; with no track left the epoch
records None.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor

from umxmr.framewise_sdr import framewise_sdr, is_silent
from umxmr.models.blocked import OverlapAdd, array_reader, nb_frames, stft_frames
from umxmr.models.registry import build_frontend

log = logging.getLogger("umxmr.training.valid_sdr")

__all__ = ["VALID_SDR_EVERY", "MUSEVAL_WINDOW", "sdr_due", "track_sdr", "ValidSdr"]

VALID_SDR_EVERY = 5  # epochs, when `train.valid_sdr_every` is left out
MUSEVAL_WINDOW = (1.0, 1.0)  # museval's win and hop in seconds, when the settings carry none
BLOCK_FRAMES = 300  # frames per block of the phase and inverse STFT


def sdr_due(epoch: int, every: int, last: bool) -> bool:
    """Whether epoch `epoch` (from 1) records the SDR: every `every`-th epoch and the run's last
    (`train.epochs`, or the epoch where early stopping ends it)."""
    return epoch % every == 0 or last


def track_sdr(reference: np.ndarray, estimate: np.ndarray, win: int, hop: int) -> float:
    """Median over the non-NaN frames of museval's SDR of one target alone, dB; NaN when the
    reference or the estimate is silent throughout or every frame is masked.
    `reference`/`estimate`: (nsampl, nchan); `win`/`hop` in samples."""
    if is_silent(reference) or is_silent(estimate):
        return math.nan
    frames = framewise_sdr([reference], [estimate], win, hop)[0]
    kept = frames[~np.isnan(frames)]
    return float(np.median(kept)) if kept.size else math.nan


class ValidSdr:
    """The validation SDR of a model for one target, from `settings` (`stft`, `model`, and
    `train.valid_sdr_window`: museval's win and hop in seconds, default 1 s and 1 s)."""

    def __init__(self, settings: Mapping[str, Any], rate: float, device: torch.device) -> None:
        self.frontend = build_frontend(settings, rate, center=True).to(device)
        self.n_fft, self.hop = settings["stft"]["n_fft"], settings["stft"]["hop"]
        win_s, hop_s = settings["train"].get("valid_sdr_window", MUSEVAL_WINDOW)
        # museval's samples from seconds: int(win * rate)
        self.win, self.hop_samples = int(win_s * rate), int(hop_s * rate)
        if self.win < 1 or self.hop_samples < 1:
            raise ValueError(f"train.valid_sdr_window: {win_s} s and {hop_s} s must be at least one sample at {rate} Hz")
        self.window = torch.hann_window(self.n_fft, dtype=torch.float64, device=device)
        self.device = device

    def estimate(self, model: torch.nn.Module, mixture: Tensor) -> Tensor:
        """The target's estimate `(nb_channels, length)` float64 of the mixture `(nb_channels,
        length)` float32: |model| on the centred STFT with the mixture's phase, no Wiener filter."""
        audio = mixture.to(self.device)[None]
        with torch.no_grad():
            magnitude = self.frontend.stft_magnitude(model(self.frontend.inputs(audio)), audio)[0]
            wide = audio[0].double()
            read, length = array_reader(wide), wide.shape[-1]
            total = nb_frames(length, self.n_fft, self.hop)
            if magnitude.shape[-1] != total:
                raise ValueError(f"the model gave {magnitude.shape[-1]} frames, the centred STFT of the track has {total}")
            inverse = OverlapAdd(self.n_fft, self.hop, self.window, total, length)
            parts = []
            for first in range(0, total, BLOCK_FRAMES):
                stop = min(total, first + BLOCK_FRAMES)
                phase = stft_frames(read, length, self.n_fft, self.hop, self.window, first, stop).angle()
                parts.append(inverse.push(torch.polar(magnitude[..., first:stop].double().expand_as(phase), phase)))
        return torch.cat(parts, dim=-1)

    def __call__(self, model: torch.nn.Module, tracks) -> tuple[float | None, list[float]]:
        """(median over tracks, each track's SDR) for the (mixture, target) pairs of `tracks`
        (a `FullTrackDataset`); the model is left in eval mode."""
        model.eval()
        scores = []
        for index in range(len(tracks)):
            mixture, target = tracks[index]
            estimate = self.estimate(model, mixture).cpu().numpy().T
            scores.append(track_sdr(target.numpy().T.astype(np.float64), estimate, self.win, self.hop_samples))
        kept = [s for s in scores if not math.isnan(s)]
        if len(kept) < len(scores):
            log.warning("validation SDR: %d of %d tracks have none (silent reference or estimate)", len(scores) - len(kept), len(scores))
        return (float(np.median(kept)) if kept else None), scores
