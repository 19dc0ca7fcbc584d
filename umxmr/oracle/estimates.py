"""The phase-mix oracle: each source's true STFT magnitude with the mixture's phase.

The reference point of every table and plot: what the separator would give if its models
predicted each target's magnitude perfectly and Wiener filtering were skipped (niter 0). It is
not a bound: Wiener/EM refinement of imperfect magnitudes can score above it.
Same STFT as the separator (centred, periodic Hann, Open-Unmix's 4096/1024), in float64.
The signal end is zero-padded by one window before the STFT, so its last samples get the
same overlap-add as the middle; the estimate is cut back to the track's length. Block by
block: the stems are read, transformed and the estimates written in blocks of frames.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch

from umxmr.data.audio import SAMPLE_FORMATS, AudioError, audio_info, open_audio, write_audio_blocks
from umxmr.data.layout import load_manifest
from umxmr.provenance import write_separation_provenance
from umxmr.models.blocked import OverlapAdd, Reader, array_reader, nb_frames, stft_frames
from umxmr.models.slicq import SliCQ, SliceOverlapAdd
from umxmr.models.transforms import ISTFT, STFT

# the oracle's "separation settings" for the provenance tables: no Wiener/EM, no residual
ORACLE_SEPARATION = {"niter": 0, "residual": False, "wiener_win_len": None, "softmask": False}


# frames per block: 1 + 4 stereo signals of 2049 bins in complex128 are ~0.33 MB per frame;
# 256 frames run as fast as the whole-track oracle (64: 1.6x slower on a 20 s track)
BLOCK_FRAMES = 256

# slices per block of the sliCQ oracle: umx-mr-7's 263 x 292 coefficients of 1 + 4 stereo
# signals in complex128 are ~12 MB per slice, several copies of it in analyse/synthesise;
# 4: 670 MB peak at 30 s (16: 1562 MB), and no slower (bench/README.md)
SLICQ_CHUNK = 4


def _zero_extended(read: Reader, length: int) -> Reader:
    """`read` of a signal of `length` samples, zeros after its end."""

    def extended(start: int, stop: int) -> torch.Tensor:
        inside = read(min(start, length), min(stop, length))
        if stop <= length:
            return inside
        return torch.cat([inside, inside.new_zeros(inside.shape[0], stop - max(start, length))], dim=-1)

    return extended


def phase_mix_blocks(
    mixture: Reader, sources: Mapping[str, Reader], length: int, n_fft: int = 4096, hop: int = 1024, block_frames: int = BLOCK_FRAMES
) -> Iterator[dict[str, np.ndarray]]:
    """The phase-mix estimates of `length` samples as consecutive blocks `{target: (n, nb_channels)}`.

    `mixture` and `sources` read float64 `(nb_channels, n)` samples. Frames of the STFT of the
    zero-extended signals (`length + n_fft`), their product and the overlap-add go block by
    block (umxmr.models.blocked); nothing of the whole track's spectrogram is kept.
    """
    if block_frames < 1:
        raise ValueError(f"block_frames: {block_frames} must be at least 1")
    names = list(sources)
    padded = length + n_fft
    readers = [_zero_extended(r, length) for r in (mixture, *(sources[n] for n in names))]
    total = nb_frames(padded, n_fft, hop)
    # the float32 periodic Hann of transforms.STFT in float64, as the whole-track oracle has always used
    window = torch.hann_window(n_fft).double()
    inverse = OverlapAdd(n_fft, hop, window, total, length)
    with torch.no_grad():
        for first in range(0, total, block_frames):
            stop = min(total, first + block_frames)
            spec = torch.stack([stft_frames(r, padded, n_fft, hop, window, first, stop) for r in readers])
            phase = torch.exp(1j * torch.angle(spec[:1]))
            out = inverse.push(spec[1:].abs() * phase).numpy()
            if out.shape[-1]:
                yield {n: out[k].T for k, n in enumerate(names)}
            if inverse.emitted == length:  # later frames only touch the zero extension
                break


def phase_mix(
    mixture: np.ndarray, sources: Mapping[str, np.ndarray], n_fft: int = 4096, hop: int = 1024, block_frames: int = BLOCK_FRAMES
) -> dict[str, np.ndarray]:
    """`{target: (nb_timesteps, nb_channels)}`: |STFT(source)| · exp(i∠STFT(mixture)), inverted."""
    for name, audio in sources.items():
        if audio.shape != mixture.shape:
            raise ValueError(f"source {name!r} has shape {audio.shape}, the mixture {mixture.shape}")

    def reader(audio: np.ndarray) -> Reader:
        return array_reader(torch.from_numpy(np.ascontiguousarray(audio.T, dtype=np.float64)))

    blocks = phase_mix_blocks(reader(mixture), {n: reader(a) for n, a in sources.items()}, mixture.shape[0], n_fft, hop, block_frames)
    parts: dict[str, list[np.ndarray]] = {n: [] for n in sources}
    for block in blocks:
        for n, audio in block.items():
            parts[n].append(audio)
    return {n: np.concatenate(p) for n, p in parts.items()}


def phase_mix_whole_track(mixture: np.ndarray, sources: Mapping[str, np.ndarray], n_fft: int = 4096, hop: int = 1024) -> dict[str, np.ndarray]:
    """`phase_mix` as it was before blocks, every STFT of the whole track at once: the
    reference the blocked path is tested against (~61 MB per second of audio)."""
    length = mixture.shape[0]
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


class _FileReader:
    """Samples `[start, stop)` of a WAV file, or the sum of several (a complement's stems), as
    float64 `(nb_channels, n)`, read on demand."""

    def __init__(self, paths: Sequence[Path], stack: ExitStack) -> None:
        self.paths = [Path(p) for p in paths]
        self.name = " + ".join(str(p) for p in self.paths)
        for path in self.paths:
            audio_info(path)  # a missing or unreadable file: AudioError naming it
        self.files = [stack.enter_context(open_audio(path)) for path in self.paths]
        lengths = {f.frames for f in self.files}
        if len(lengths) > 1:
            raise AudioError(f"{self.name}: stems of unequal length {sorted(lengths)}; rebuild the manifest")
        self.frames = lengths.pop()

    def __call__(self, start: int, stop: int) -> torch.Tensor:
        total = None
        for path, file in zip(self.paths, self.files):
            try:
                file.seek(start)
                audio = file.read(stop - start, dtype="float64", always_2d=True)
            except (RuntimeError, sf.LibsndfileError) as err:
                raise AudioError(f"{path}: cannot read audio ({err}); replace or re-export it") from err
            if audio.shape[0] != stop - start:
                raise AudioError(f"{path}: {audio.shape[0]} samples at {start}, expected {stop - start}; replace or re-export it")
            total = audio if total is None else total + audio
        return torch.from_numpy(np.ascontiguousarray(total.T))


def slicq_phase_mix_blocks(
    mixture: Reader, sources: Mapping[str, Reader], length: int, slicq: SliCQ, chunk: int = SLICQ_CHUNK
) -> Iterator[dict[str, np.ndarray]]:
    """The sliCQ phase-mix estimates of `length` samples as consecutive blocks `{target: (n, nb_channels)}`.

    `mixture` and `sources` read float64 `(nb_channels, n)` samples. Each slice's coefficients
    depend only on the samples it covers, so `chunk` slices at a time are read
    (`SliCQ.slice_range`: samples `[(first - 1) · hop, stop · hop)`), analysed, given the
    sources' magnitudes with the mixture's phase, synthesised and overlap-added across chunk
    edges (`SliceOverlapAdd`); nothing of the whole track is held.
    """
    if chunk < 1:
        raise ValueError(f"chunk: {chunk} must be at least 1")
    names = list(sources)
    readers = [mixture, *(sources[n] for n in names)]
    total = slicq.nb_slices(length)
    inverse = SliceOverlapAdd(slicq, length)
    with torch.no_grad():
        for first in range(0, total, chunk):
            stop = min(total, first + chunk)
            # (1 + nb_sources, nb_channels, stop - first, slice_length)
            slices = torch.stack([slicq.slice_range(r, length, first, stop) for r in readers])
            coefs = slicq.analyse(slices, first)
            del slices
            out = inverse.push(slicq.synthesise(coefs[1:].abs() * torch.exp(1j * coefs[:1].angle()), first)).numpy()
            del coefs
            if out.shape[-1]:
                yield {n: out[k].T for k, n in enumerate(names)}


def slicq_phase_mix(mixture: np.ndarray, sources: Mapping[str, np.ndarray], slicq: SliCQ, chunk: int = SLICQ_CHUNK) -> dict[str, np.ndarray]:
    """`{target: (nb_timesteps, nb_channels)}`: |sliCQ(source)| · exp(i∠sliCQ(mixture)) per slice, inverted.

    The sliCQ counterpart of `phase_mix` (xumx-sliCQ's `phasemix_sep` oracle), in float64,
    umx-mr-7's transform by default (`slicq_of_variant`); the ceiling of a model that
    predicts each slice's magnitude perfectly, before any Wiener filter. In-memory arrays
    through `slicq_phase_mix_blocks`.
    """
    for name, audio in sources.items():
        if audio.shape != mixture.shape:
            raise ValueError(f"source {name!r} has shape {audio.shape}, the mixture {mixture.shape}")

    def reader(audio: np.ndarray) -> Reader:
        return array_reader(torch.from_numpy(np.ascontiguousarray(audio.T, dtype=np.float64)))

    blocks = slicq_phase_mix_blocks(reader(mixture), {n: reader(a) for n, a in sources.items()}, mixture.shape[0], slicq, chunk)
    parts: dict[str, list[np.ndarray]] = {n: [] for n in sources}
    for block in blocks:
        for n, audio in block.items():
            parts[n].append(audio)
    return {n: np.concatenate(p) if p else np.zeros((0, mixture.shape[1])) for n, p in parts.items()}


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
    sums: Mapping[str, Sequence[str]] | None = None,
    sample_format: str = "float",
    slicq: Mapping[str, Any] | None = None,
) -> None:
    """Write the phase-mix oracle of test track `track` as one WAV per target (`sample_format`:
    a key of umxmr.data.audio.SAMPLE_FORMATS), and to `provenance_out` the record of what
    produced them (`run`: the run's provenance).

    A target named in `sums` (a single-target study's complement, `umxmr.target_sets`) is
    the sum of those stems, as musdb's accompaniment. The stems are read and the estimates
    written block by block (bounded memory). `slicq`: the resolved settings of a sliced-NSGT
    variant (umx-mr-7) to take the phase-mix on its sliCQ instead of the STFT (also block by
    block, `slicq_phase_mix_blocks`)."""
    tracks = {t.name: t for t in load_manifest(Path(manifest))["test"]}
    if track not in tracks:
        raise ValueError(f"track {track!r} is not a test track of {manifest}")
    info = tracks[track]
    sums = sums or {}
    with ExitStack() as stack:
        mixture = _FileReader([info.path("mixture")], stack)
        sources = {t: _FileReader([info.path(s) for s in sums.get(t, [t])], stack) for t in targets}
        for r in sources.values():
            if r.frames != mixture.frames:
                raise ValueError(f"{r.name}: {r.frames} samples, the mixture {mixture.frames}; the manifest {manifest} is stale, rebuild it")
        if slicq is not None:
            blocks = slicq_phase_mix_blocks(mixture, sources, mixture.frames, slicq_of_variant(slicq, info.rate))
        else:
            blocks = phase_mix_blocks(mixture, sources, mixture.frames, n_fft, hop)
        write_audio_blocks(outputs, list(targets), blocks, info.rate, SAMPLE_FORMATS[sample_format])
    write_separation_provenance(provenance_out, run, "cpu", ORACLE_SEPARATION, {})  # torch on the CPU, float64
