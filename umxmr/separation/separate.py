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

from umxmr.data.audio import read_audio, write_audio
from umxmr.data.layout import load_manifest
from umxmr.device import pick_device
from umxmr.models.registry import Frontend, build_frontend, build_model
from umxmr.models.frontends import StftFrontend
from umxmr.provenance import write_separation_provenance
from umxmr.settings import PUBLISHED_DEFAULTS
from umxmr.models.transforms import ISTFT, STFT, magnitude


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


# open-unmix's `wiener` regularises soft masks and EM with 1e-10 (norbert: float eps)
WIENER_EPS = 1e-10


def _wiener(v: np.ndarray, x: np.ndarray, niter: int, softmask: bool, residual: bool) -> np.ndarray:
    """One window: norbert's initial estimate, open-unmix's residual, then norbert's EM."""
    y = norbert.wiener(v, x.copy(), iterations=0, use_softmask=softmask, eps=WIENER_EPS)
    if residual:
        # open-unmix appends mixture - sum(estimates) before EM
        y = np.concatenate([y, (x - y.sum(-1))[..., None]], axis=-1)
    if niter == 0:
        return y
    # scaled as norbert.wiener does, for numerical stability of EM
    max_abs = max(1.0, np.abs(x).max() / 10.0)
    return norbert.expectation_maximization(y / max_abs, x / max_abs, niter, eps=WIENER_EPS)[0] * max_abs


def _filter_and_invert(
    v: np.ndarray,
    x: np.ndarray,
    targets: Sequence[str],
    n_fft: int,
    hop: int,
    length: int,
    niter: int,
    softmask: bool,
    residual: bool,
    wiener_win_len: int | None,
    device: torch.device,
) -> dict[str, np.ndarray]:
    """Joint Wiener/EM of target magnitudes `v` with mixture STFT `x`, then audio per source.

    v: (nb_frames, nb_bins, nb_channels, nb_targets), x: (nb_frames, nb_bins, nb_channels);
    returns `{source: (nb_timesteps, nb_channels)}`, with "residual" when asked for.
    """
    y = wiener_in_windows(v, x, niter, softmask, residual, wiener_win_len)
    # back to (nb_sources, nb_channels, nb_bins, nb_frames), then audio
    spec = torch.from_numpy(y.transpose(3, 2, 1, 0).astype(np.complex64)).to(device)
    estimates = ISTFT(n_fft, hop, center=True).to(device)(spec, length=length).cpu().numpy()
    names = [*targets, *(["residual"] if residual else [])]
    return {name: estimates[i].T for i, name in enumerate(names)}


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
    return _filter_and_invert(v, x, list(models), n_fft, hop, mixture.shape[0], niter, softmask, residual, wiener_win_len, device)


def _own_stft_estimates(
    audio: torch.Tensor, models: Mapping[str, tuple[torch.nn.Module, int, int]], length: int, win_len: int | None
) -> dict[str, np.ndarray]:
    """(a) each target masked in its own STFT: its magnitude with that STFT's mixture phase, inverted alone."""
    estimates = {}
    for target, (model, n_fft, hop) in models.items():
        stft = STFT(n_fft, hop, center=True).to(audio.device)
        with torch.no_grad():
            mix_stft = stft(audio)
            v = model(magnitude(mix_stft))[0].permute(2, 1, 0).cpu().numpy()[..., None]
        x = mix_stft[0].permute(2, 1, 0).cpu().numpy()
        # one source, no EM, no soft mask: norbert's initial estimate = magnitude × mixture phase
        y = wiener_in_windows(v, x, 0, False, False, win_len)[..., 0]
        spec = torch.from_numpy(y.transpose(2, 1, 0).astype(np.complex64)).to(audio.device)
        estimates[target] = ISTFT(n_fft, hop, center=True).to(audio.device)(spec, length=length).cpu().numpy().T
    return estimates


def separate_per_target_stft(
    mixture: np.ndarray,
    models: Mapping[str, tuple[torch.nn.Module, int, int]],
    mode: str,
    common_stft: tuple[int, int],
    niter: int = 1,
    softmask: bool = False,
    residual: bool = False,
    wiener_win_len: int | None = 300,
    device: torch.device = torch.device("cpu"),
) -> dict[str, np.ndarray]:
    """Separate with models `{target: (model, n_fft, hop)}` whose STFTs differ.

    norbert's Wiener/EM needs one STFT for all sources. `mode` own: (a) every target in its
    own STFT, no joint filter. `mode` common: (b) the estimates of (a) resynthesised and
    re-analysed in `common_stft` (n_fft, hop); their magnitudes then go through the joint
    Wiener/EM with the mixture's STFT there, as in `separate`.
    """
    audio = torch.from_numpy(np.ascontiguousarray(mixture.T, dtype=np.float32))[None].to(device)
    own = _own_stft_estimates(audio, models, mixture.shape[0], wiener_win_len)
    if mode == "own":
        return own
    if mode != "common":
        raise ValueError(f"separation.per_target_stft: {mode!r} is neither 'own' nor 'common'")
    n_fft, hop = common_stft
    stft = STFT(n_fft, hop, center=True).to(device)
    with torch.no_grad():
        x = stft(audio)[0].permute(2, 1, 0).cpu().numpy()
        est = torch.from_numpy(np.stack([own[t].T for t in models]).astype(np.float32)).to(device)
        v = magnitude(stft(est)).permute(3, 2, 1, 0).cpu().numpy()  # (frames, bins, channels, targets)
    return _filter_and_invert(v, x, list(models), n_fft, hop, mixture.shape[0], niter, softmask, residual, wiener_win_len, device)


def separator_config(
    settings: Mapping[str, Any],
    separation: Mapping[str, Any],
    targets: Sequence[str],
    rate: float,
    target_settings: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The contents of `separator.json`: what open-unmix's loader needs, plus the filter settings.

    When the targets' models (`target_settings`, in target order) use different STFTs, it also
    records them and how they are combined (`per_target_stft`: own or common, `common_stft`).
    """
    extra: dict[str, Any] = {}
    stfts = [(s["stft"]["n_fft"], s["stft"]["hop"]) for s in target_settings]
    if len(set(stfts)) > 1:
        common = separation.get("common_stft", PUBLISHED_DEFAULTS["stft"])
        extra = {
            "target_stft": {t: {"nfft": n, "nhop": h} for t, (n, h) in zip(targets, stfts)},
            "per_target_stft": separation.get("per_target_stft", "own"),
            "common_stft": {"nfft": common["n_fft"], "nhop": common["hop"]},
        }
    return extra | {
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


def wiener_settings(separator: Mapping[str, Any]) -> dict[str, Any]:
    """The Wiener/EM settings a separator.json applies, as recorded in the provenance.

    Per-target STFTs in `own` mode use no joint filter: each target is its magnitude with
    its own STFT's mixture phase (niter 0, no soft mask, no residual), whatever the config says.
    """
    if separator.get("per_target_stft") == "own":
        return {"niter": 0, "softmask": False, "residual": False, "wiener_win_len": separator["wiener_win_len"]}
    return {key: separator[key] for key in ("niter", "softmask", "residual", "wiener_win_len")}


def separate_track_files(
    track: str,
    manifest: Path,
    separator: Path,
    summaries: Sequence[Path],
    weights: Sequence[Path],
    outputs: Sequence[Path],
    provenance_out: Path,
    run: Mapping[str, Any],
) -> None:
    """Separate test track `track` of the manifest; write one WAV per target (same order as the
    models) and, to `provenance_out`, the record of what produced them (`run`: the run's provenance)."""
    conf = json.loads(Path(separator).read_text())
    device = pick_device(conf.get("device", "auto"))
    tracks = {t.name: t for t in load_manifest(manifest)["test"]}
    mixture = read_audio(tracks[track].path("mixture"))
    estimates, wiener = separate_with_model_files(mixture, conf, summaries, weights, device)
    for target, path in zip(conf["targets"], outputs):
        write_audio(path, estimates[target], int(conf["sample_rate"]))
    models = {target: json.loads(Path(summary).read_text()) for target, summary in zip(conf["targets"], summaries)}
    write_separation_provenance(provenance_out, run, str(device), wiener, models)


def separate_with_model_files(
    mixture: np.ndarray, conf: Mapping[str, Any], summaries: Sequence[Path], weights: Sequence[Path], device: torch.device
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Estimates `{target: (nb_timesteps, nb_channels)}` of a `(nb_timesteps, nb_channels)` mixture
    at `conf["sample_rate"]` with the models of a separator.json (`conf`), and the Wiener/EM
    settings applied. `summaries`/`weights`: the model JSONs and state dicts in `conf["targets"]` order."""
    models = {
        target: load_target_model(summary, weight, conf["sample_rate"], device)
        for target, summary, weight in zip(conf["targets"], summaries, weights)
    }
    wiener = wiener_settings(conf)
    if "target_stft" in conf:
        stfts = conf["target_stft"]
        estimates = separate_per_target_stft(
            mixture,
            {t: (m, stfts[t]["nfft"], stfts[t]["nhop"]) for t, m in models.items()},
            mode=conf["per_target_stft"],
            common_stft=(conf["common_stft"]["nfft"], conf["common_stft"]["nhop"]),
            device=device,
            **wiener,
        )
    else:
        frontends = {
            target: load_target_frontend(summary, conf["sample_rate"], device)
            for target, summary in zip(conf["targets"], summaries)
        }
        estimates = separate(
            mixture,
            models,
            n_fft=conf["nfft"],
            hop=conf["nhop"],
            device=device,
            frontends=frontends,
            **wiener,
        )
    return estimates, wiener
