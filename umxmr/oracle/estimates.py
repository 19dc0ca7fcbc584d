"""The phase-mix oracle: each source's true STFT magnitude with the mixture's phase.

The upper reference of every table and plot: what the separator could reach if its models
predicted each target's magnitude perfectly and Wiener filtering were skipped (niter 0).
Same STFT as the separator (centred, periodic Hann, Open-Unmix's 4096/1024), in float64.
The signal end is zero-padded by one window before the STFT, so its last samples get the
same overlap-add as the middle; the estimate is cut back to the track's length.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from umxmr.data.audio import read_audio, write_audio
from umxmr.data.layout import load_manifest
from umxmr.provenance import write_separation_provenance
from umxmr.models.slicq import SliCQ
from umxmr.models.transforms import ISTFT, STFT

# the oracle's "separation settings" for the provenance tables: no Wiener/EM, no residual
ORACLE_SEPARATION = {"niter": 0, "residual": False, "wiener_win_len": None, "softmask": False}


def phase_mix(mixture: np.ndarray, sources: Mapping[str, np.ndarray], n_fft: int = 4096, hop: int = 1024) -> dict[str, np.ndarray]:
    """`{target: (nb_timesteps, nb_channels)}`: |STFT(source)| · exp(i∠STFT(mixture)), inverted."""
    length = mixture.shape[0]
    for name, audio in sources.items():
        if audio.shape != mixture.shape:
            raise ValueError(f"source {name!r} has shape {audio.shape}, the mixture {mixture.shape}")
    names = list(sources)
    # (1 + nb_sources, nb_channels, nb_timesteps + n_fft), zero end padding
    audio = np.stack([mixture, *(sources[n] for n in names)]).transpose(0, 2, 1)
    audio = np.pad(audio.astype(np.float64), [(0, 0), (0, 0), (0, n_fft)])
    stft = STFT(n_fft, hop, center=True).double()
    istft = ISTFT(n_fft, hop, center=True).double()
    with torch.no_grad():
        spec = stft(torch.from_numpy(audio))
        phase = torch.exp(1j * torch.angle(spec[:1]))
        estimates = istft(spec[1:].abs() * phase, length=audio.shape[-1]).numpy()
    return {n: estimates[k, :, :length].T for k, n in enumerate(names)}


def slicq_phase_mix(mixture: np.ndarray, sources: Mapping[str, np.ndarray], slicq: SliCQ, chunk: int = 16) -> dict[str, np.ndarray]:
    """`{target: (nb_timesteps, nb_channels)}`: |sliCQ(source)| · exp(i∠sliCQ(mixture)) per slice, inverted.

    The sliCQ counterpart of `phase_mix` (xumx-sliCQ's `phasemix_sep` oracle), in float64,
    umx-mr-7's transform by default (`slicq_of_variant`); the ceiling of a model that
    predicts each slice's magnitude perfectly, before any Wiener filter.
    """
    length = mixture.shape[0]
    for name, audio in sources.items():
        if audio.shape != mixture.shape:
            raise ValueError(f"source {name!r} has shape {audio.shape}, the mixture {mixture.shape}")
    names = list(sources)
    with torch.no_grad():
        # (1 + nb_sources, nb_channels, nb_slices, slice_length), a chunk of slices at a time
        # so that no whole-track coefficients are held (~3 GB per source for 4 minutes)
        slices = slicq.slices(torch.from_numpy(np.stack([mixture, *(sources[n] for n in names)]).transpose(0, 2, 1).astype(np.float64)))
        out = []
        for first in range(0, slices.shape[-2], chunk):
            coefs = slicq.analyse(slices[..., first : first + chunk, :])
            out.append(slicq.synthesise(coefs[1:].abs() * torch.exp(1j * coefs[:1].angle())))
        estimates = slicq.unslice(torch.cat(out, -2), length).numpy()
    return {n: estimates[k].T for k, n in enumerate(names)}


def slicq_of_variant(settings: Mapping[str, Any], rate: float) -> SliCQ:
    """The sliCQ of a variant's resolved settings (`model.nsgt` with `sliced: true`, e.g. umx-mr-7)."""
    scale = settings["model"].get("nsgt") or {}
    if not scale.get("sliced", False):
        raise ValueError("model.nsgt: the sliCQ oracle needs a variant with model.nsgt.sliced: true (e.g. umx-mr-7)")
    return SliCQ(scale["scale"], scale["fmin"], scale["fmax"], scale["bins"], rate, scale.get("slice_length"), scale.get("transition_length"))


def phase_mix_track_files(
    track: str,
    manifest: Path,
    targets: Sequence[str],
    outputs: Sequence[Path],
    provenance_out: Path,
    run: Mapping[str, Any],
    n_fft: int = 4096,
    hop: int = 1024,
    slicq: Mapping[str, Any] | None = None,
) -> None:
    """Write the phase-mix oracle of test track `track` as one WAV per target, and to
    `provenance_out` the record of what produced them (`run`: the run's provenance).
    `slicq`: the resolved settings of a sliced-NSGT variant (umx-mr-7) to take the phase-mix
    on its sliCQ instead of the STFT."""
    tracks = {t.name: t for t in load_manifest(Path(manifest))["test"]}
    if track not in tracks:
        raise ValueError(f"track {track!r} is not a test track of {manifest}")
    info = tracks[track]
    mixture = read_audio(info.path("mixture"), dtype="float64")
    sources = {t: read_audio(info.path(t), dtype="float64") for t in targets}
    if slicq is None:
        estimates = phase_mix(mixture, sources, n_fft, hop)
    else:
        estimates = slicq_phase_mix(mixture, sources, slicq_of_variant(slicq, info.rate))
    for target, path in zip(targets, outputs):
        write_audio(Path(path), estimates[target], info.rate)
    write_separation_provenance(provenance_out, run, "cpu", ORACLE_SEPARATION, {})  # torch on the CPU, float64
