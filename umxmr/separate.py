"""Separate a mixture with the per-target models, as open-unmix's Separator does.

Each target model turns the mixture magnitude (centred STFT) into a target magnitude (a
model with another front end, umx-mr-4/umx-mr-7, reads the audio its own way and its
front end hands back a magnitude of this STFT);
norbert's multichannel Wiener filter with `niter` EM iterations (0: the magnitudes with the
mixture phase, or ratio masks with `softmask`) gives complex estimates, in windows of
`wiener_win_len` frames so memory stays bounded on full-length tracks (open-unmix #113).
`residual` adds mixture − sum(targets) as an extra source before the EM step.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import norbert
import numpy as np
import torch

from umxmr.audio import read_audio, write_audio
from umxmr.data.layout import load_manifest
from umxmr.device import pick_device
from umxmr.models import Frontend, build_frontend, build_model
from umxmr.models.frontends import StftFrontend
from umxmr.transforms import ISTFT, STFT


def load_target_model(model_json: Path, weights: Path, rate: float, device: torch.device) -> torch.nn.Module:
    """Rebuild a trained model from its summary JSON (`args`) and weights."""
    settings = json.loads(Path(model_json).read_text())["args"]
    model = build_model(settings, rate)
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return model.to(device).eval()


def load_target_frontend(model_json: Path, rate: float, device: torch.device) -> Frontend:
    """The separation (centred) front end of a trained model, from its summary JSON."""
    settings = json.loads(Path(model_json).read_text())["args"]
    return build_frontend(settings, rate, center=True).to(device)


def wiener_in_windows(
    spectrograms: np.ndarray, mix_stft: np.ndarray, niter: int, softmask: bool, residual: bool, win_len: int | None
) -> np.ndarray:
    """norbert.wiener over consecutive windows of frames.

    spectrograms: (nb_frames, nb_bins, nb_channels, nb_targets) magnitudes,
    mix_stft: (nb_frames, nb_bins, nb_channels) complex; returns
    (nb_frames, nb_bins, nb_channels, nb_sources) complex.
    """
    nb_frames = spectrograms.shape[0]
    nb_sources = spectrograms.shape[-1] + int(residual)
    if nb_sources == 1 and niter > 0:
        raise ValueError("separation.niter > 0 needs at least two sources: add targets or set separation.residual")
    win_len = win_len or nb_frames
    out = np.zeros(mix_stft.shape + (nb_sources,), dtype=np.complex128)
    for pos in range(0, nb_frames, win_len):
        frames = slice(pos, min(nb_frames, pos + win_len))
        out[frames] = _wiener(spectrograms[frames].astype(np.float64), mix_stft[frames].astype(np.complex128), niter, softmask, residual)
    return out


def _wiener(v: np.ndarray, x: np.ndarray, niter: int, softmask: bool, residual: bool) -> np.ndarray:
    """One window: norbert's initial estimate, open-unmix's residual, then norbert's EM."""
    y = norbert.wiener(v, x.copy(), iterations=0, use_softmask=softmask)
    if residual:
        # open-unmix appends mixture - sum(estimates) before EM
        y = np.concatenate([y, (x - y.sum(-1))[..., None]], axis=-1)
    if niter == 0:
        return y
    # scaled as norbert.wiener does, for numerical stability of EM
    max_abs = max(1.0, np.abs(x).max() / 10.0)
    return norbert.expectation_maximization(y / max_abs, x / max_abs, niter)[0] * max_abs


def separate(
    mixture: np.ndarray,
    models: Mapping[str, torch.nn.Module],
    n_fft: int,
    hop: int,
    niter: int = 1,
    softmask: bool = False,
    residual: bool = False,
    wiener_win_len: int | None = 300,
    device: torch.device = torch.device("cpu"),
    frontends: Mapping[str, Frontend] | None = None,
) -> dict[str, np.ndarray]:
    """Estimates `{target: (nb_timesteps, nb_channels)}` for a `(nb_timesteps, nb_channels)` mixture.

    `frontends` (per target; default: the centred |STFT|, Open-Unmix's) turn the mixture into
    each model's input and its output into a magnitude of this STFT for the Wiener filter.
    """
    stft = STFT(n_fft, hop, center=True).to(device)
    istft = ISTFT(n_fft, hop, center=True).to(device)
    audio = torch.from_numpy(np.ascontiguousarray(mixture.T, dtype=np.float32))[None].to(device)
    with torch.no_grad():
        mix_stft = stft(audio)  # (1, nb_channels, nb_bins, nb_frames)
        if frontends is None:
            frontends = dict.fromkeys(models, StftFrontend(n_fft, hop, center=True).to(device))
        spectrograms = torch.stack(
            [frontends[t].stft_magnitude(model(frontends[t].inputs(audio)), audio)[0] for t, model in models.items()], dim=-1
        )
    # to (nb_frames, nb_bins, nb_channels, nb_targets) for norbert
    v = spectrograms.permute(2, 1, 0, 3).cpu().numpy()
    x = mix_stft[0].permute(2, 1, 0).cpu().numpy()
    y = wiener_in_windows(v, x, niter, softmask, residual, wiener_win_len)
    # back to (nb_sources, nb_channels, nb_bins, nb_frames), then audio
    y = torch.from_numpy(y.transpose(3, 2, 1, 0).astype(np.complex64)).to(device)
    estimates = istft(y, length=mixture.shape[0]).cpu().numpy()
    names: Sequence[str] = list(models) + (["residual"] if residual else [])
    return {name: estimates[i].T for i, name in enumerate(names)}


def separator_config(settings: Mapping[str, Any], separation: Mapping[str, Any], targets: Sequence[str], rate: float) -> dict[str, Any]:
    """The contents of `separator.json`: what open-unmix's loader needs, plus the filter settings."""
    return {
        "nfft": settings["stft"]["n_fft"],
        "nhop": settings["stft"]["hop"],
        "sample_rate": rate,
        "nb_channels": settings["model"]["nb_channels"],
        "targets": list(targets),
        "niter": separation["niter"],
        "softmask": separation["softmask"],
        "residual": separation["residual"],
        "wiener_win_len": separation["wiener_win_len"],
        "device": separation.get("device", "auto"),
    }


def separate_track_files(
    track: str,
    manifest: Path,
    separator: Path,
    summaries: Sequence[Path],
    weights: Sequence[Path],
    outputs: Sequence[Path],
) -> None:
    """Separate test track `track` of the manifest; write one WAV per target (same order as the models)."""
    conf = json.loads(Path(separator).read_text())
    device = pick_device(conf.get("device", "auto"))
    tracks = {t.name: t for t in load_manifest(manifest)["test"]}
    mixture = read_audio(tracks[track].path("mixture"))
    models = {
        target: load_target_model(summary, weight, conf["sample_rate"], device)
        for target, summary, weight in zip(conf["targets"], summaries, weights)
    }
    frontends = {target: load_target_frontend(summary, conf["sample_rate"], device) for target, summary in zip(conf["targets"], summaries)}
    estimates = separate(
        mixture,
        models,
        n_fft=conf["nfft"],
        hop=conf["nhop"],
        niter=conf["niter"],
        softmask=conf["softmask"],
        residual=conf["residual"],
        wiener_win_len=conf["wiener_win_len"],
        device=device,
        frontends=frontends,
    )
    for target, path in zip(conf["targets"], outputs):
        write_audio(path, estimates[target], int(conf["sample_rate"]))
