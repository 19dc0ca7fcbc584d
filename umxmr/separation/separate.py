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
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import norbert
import numpy as np
import torch
import torch.nn.functional as F

from umxmr.data.audio import SAMPLE_FORMATS, read_audio, write_audio_blocks
from umxmr.data.layout import load_manifest
from umxmr.device import pick_device
from umxmr.models.registry import Frontend, build_frontend, build_model
from umxmr.models.blocked import OverlapAdd, array_reader, nb_frames, stft_frames
from umxmr.models.frontends import MultiStftFrontend, SlicedNsgtFrontend, StftFrontend
from umxmr.models.multires import MultiResUnmix
from umxmr.models.nsgt_unmix import NsgtUnmix
from umxmr.models.openunmix import OpenUnmix
from umxmr.models.slicq import SliceOverlapAdd
from umxmr.provenance import write_separation_provenance
from umxmr.settings import PUBLISHED_DEFAULTS
from umxmr.models.transforms import ISTFT, STFT


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


# frames of a block: STFT, the frame-wise model layers, and the unit of niter-0 filtering
BLOCK_FRAMES = 300


class _Magnitudes:
    """One target's magnitude estimate of the base STFT, handed out block by block.

    `halo`/`needs_mixture`: whether a first pass over the mixture's blocks is needed
    (`add(first, stop, lo, mag)` with the mixture magnitude of frames `[lo, ...)` covering
    `[first - halo, stop + halo)` where the track has them), then `finish()`; after that
    `frames(first, stop, mix_mag)` gives `(nb_channels, nb_bins, stop - first)`.
    """

    halo = 0
    needs_mixture = False

    def add(self, first: int, stop: int, lo: int, mag: torch.Tensor) -> None:
        pass

    def finish(self) -> None:
        pass

    def frames(self, first: int, stop: int, mix_mag: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def _halo_padded(x: torch.Tensor, h: int, first: int, stop: int, begin: int, end: int) -> torch.Tensor:
    """Frames `[begin, end)` (the block `[first, stop)` and its halo of `h` frames each side
    where the track has them) with the rest of the halo as zero frames: a conv fc1's zero
    padding at the track's ends, explicit."""
    if not h:
        return x
    zeros = x.new_zeros(1, *x.shape[1:])
    return torch.cat([zeros] * (h - (first - begin)) + [x] + [zeros] * (h - (end - stop)))


class _BlockedOpenUnmix(_Magnitudes):
    """Open-Unmix on the base |STFT| (umx-mr-0..3, umx-nw-*), frame-wise layers by block.

    Pass 1: normalisation, fc1 (with a halo of one frame for the conv fc1), bn1, tanh per
    block; the recurrent core over the whole `(nb_frames, 1, hidden)` sequence, then fc2,
    bn2 (kept whole: `(nb_frames, 1, hidden)` float32). Pass 2: fc3 … output activation
    and the product with the mixture magnitude per block. Equal to
    `model(|STFT|)` up to float rounding (batch norm in eval mode is frame-wise).
    """

    needs_mixture = True

    def __init__(self, model: OpenUnmix, nb_frames: int) -> None:
        self.model, self.nb_frames, self.halo = model, nb_frames, model.frame_halo
        self.hidden: list[torch.Tensor] = []
        self.sequence: torch.Tensor | None = None

    def add(self, first: int, stop: int, lo: int, mag: torch.Tensor) -> None:
        m, h = self.model, self.halo
        begin, end = max(0, first - h), min(self.nb_frames, stop + h)
        # (frames, 1, nb_channels, nb_bins), normalised as OpenUnmix.forward
        x = mag[None, ..., begin - lo : end - lo].permute(3, 0, 1, 2)[..., : m.nb_bins]
        x = (x + m.input_mean) * m.input_scale
        self.hidden.append(m.encode(_halo_padded(x, h, first, stop, begin, end), padded=not h))

    def finish(self) -> None:
        # fc2/bn2 are frame-wise too: keep their (nb_frames, 1, hidden) output, half the
        # recurrent core's (nb_frames, 1, 2 * hidden)
        self.sequence = self.model.decode_hidden(self.model.recurrent(torch.cat(self.hidden)))
        self.hidden = []

    def frames(self, first: int, stop: int, mix_mag: torch.Tensor) -> torch.Tensor:
        mask = self.model.decode_output(self.sequence[first:stop], mix_mag.shape[0])  # (frames, 1, channels, bins)
        return mask[:, 0].permute(1, 2, 0) * mix_mag


class _BlockedMultiRes(_Magnitudes):
    """umx-mr-4 (`MultiResUnmix` on `MultiStftFrontend`'s three centred STFTs), block by block.

    Pass 1, here: blocks of base frames starting at multiples of s (`block_frames` rounded
    down to one, at least s); per block the base, double and half STFT frames it reads
    (`MultiResUnmix.input_frames`: one double frame and s/2 half frames of halo) from the
    audio, the branches' normalisation and convolutions, the 1×1 merge and fc1, bn1, tanh
    (with a conv fc1, the features of `frame_halo` frames either side too, from a block
    widened by s frames); the recurrent core over the whole `(nb_core_frames, 1, hidden)`
    sequence, then fc2, bn2 (kept whole). Pass 2 (`frames`): fc3 … output activation per
    block; base frames past the core's last (at most s - 1 at the end) read its last frame,
    as `forward` holds the last mask frame. Equal to `model(frontend.inputs(audio))` up to
    float rounding.
    """

    def __init__(self, model: MultiResUnmix, frontend: MultiStftFrontend, audio: torch.Tensor, block_frames: int) -> None:
        self.model = model
        s, h = model.scale_factor, model.frame_halo
        read, length = array_reader(audio), audio.shape[-1]
        stfts = [frontend.stft, *frontend.others]  # base, double, half
        windows = [torch.hann_window(st.n_fft, dtype=audio.dtype, device=audio.device) for st in stfts]
        nb_base, nb_double, nb_half = (nb_frames(length, st.n_fft, st.hop) for st in stfts)
        self.nb_core = total = model.nb_core_frames(nb_base, nb_double, nb_half)

        def features(first: int, stop: int) -> torch.Tensor:
            """Merged features of base frames [first, stop), (stop - first, 1, channels, bins)."""
            (d0, d1), (h0, h1) = model.input_frames(first, stop, nb_double, nb_half)
            frames = [
                stft_frames(read, length, st.n_fft, st.hop, w, a, b).abs()[None]
                for st, w, (a, b) in zip(stfts, windows, [(first, stop), (d0, d1), (h0, h1)])
            ]
            return model.block_features(*frames, first, stop, d0, h0).permute(3, 0, 1, 2)

        step = max(s, block_frames // s * s)
        widen = -(-h // s) * s  # the conv fc1's halo, in whole multiples of s
        hidden = []
        for first in range(0, total, step):
            stop = min(total, first + step)
            a, b = max(0, first - widen), min(total, stop + widen)
            begin, end = max(0, first - h), min(total, stop + h)
            x = features(a, b)[begin - a : end - a]
            hidden.append(model.encode(_halo_padded(x, h, first, stop, begin, end), padded=not h))
        self.sequence = model.decode_hidden(model.recurrent(torch.cat(hidden)))

    def frames(self, first: int, stop: int, mix_mag: torch.Tensor) -> torch.Tensor:
        held = torch.arange(first, stop, device=self.sequence.device).clamp_(max=self.nb_core - 1)
        mask = self.model.decode_output(self.sequence[held], mix_mag.shape[0])  # (frames, 1, channels, bins)
        return mask[:, 0].permute(1, 2, 0) * mix_mag


class _BlockedSliCQ(_Magnitudes):
    """umx-mr-7 (`NsgtUnmix` on `SlicedNsgtFrontend`'s sliCQ grid), block by block.

    The sliCQ is local: slice i covers samples `[(i - 1) · hop, (i + 1) · hop)` (hop = half a
    slice) and grid columns `[i · c, (i + 2) · c)` (c = nb_coefs / 2), and a core frame
    pools `frame_pool` columns. Pass 1, here: blocks of `block_frames` core frames; per block
    the slices its columns read (`SliCQ.slice_range`: a halo of one whole slice before the
    block's first column and the one that ends in it after), their |coefficients| overlap-added
    onto the block's columns, pooled, normalised, fc1, bn1, tanh (a conv fc1 with its halo of
    core frames); the recurrent core over the whole `(nb_core_frames, 1, hidden)` sequence,
    then fc2, bn2 (kept whole). Pass 2 (`frames`): the audio estimate, `chunk` slices at a
    time: the mixture's coefficients of those slices times each slice's window of the mask
    (fc3 … output activation of the core frames those windows cover), synthesised and
    overlap-added (`SliceOverlapAdd`), kept only while base-STFT frames still read it; then
    the base-STFT magnitude of the frames asked for. Equal to `frontend.stft_magnitude(
    model(frontend.inputs(audio)), audio)` up to float rounding (the front end's mask
    estimate / mixture grid magnitude is the model's mask wherever the mixture's coefficients
    are not all zero).
    """

    chunk = 16  # slices synthesised at a time in pass 2

    def __init__(self, model: NsgtUnmix, frontend: SlicedNsgtFrontend, audio: torch.Tensor, block_frames: int) -> None:
        self.model, self.slicq, self.stft = model, frontend.slicq, frontend.stft
        self.read, self.length = array_reader(audio), audio.shape[-1]
        self.nb_slices = self.slicq.nb_slices(self.length)
        self.half, pool, h = self.slicq.nb_coefs // 2, model.frame_pool, model.frame_halo
        columns = (self.nb_slices + 1) * self.half
        total = -(-columns // pool)

        def pooled(first: int, stop: int) -> torch.Tensor:
            """Core frames [first, stop) of the pooled grid magnitude, normalised: (frames, 1, channels, bins)."""
            c0, c1 = first * pool, min(columns, stop * pool)
            i0, i1 = self.slicq.column_slices(c0, c1, self.length)
            coefs = self.slicq.analyse(self.slicq.slice_range(self.read, self.length, i0, i1), i0)
            grid = self.slicq.overlap_add(coefs.abs())[..., c0 - i0 * self.half : c1 - i0 * self.half]
            x = F.avg_pool1d(grid.reshape(-1, 1, c1 - c0), pool, pool, ceil_mode=True).reshape(*grid.shape[:-1], -1)
            return (x.permute(2, 0, 1)[:, None] + model.input_mean) * model.input_scale

        hidden = []
        for first in range(0, total, block_frames):
            stop = min(total, first + block_frames)
            begin, end = max(0, first - h), min(total, stop + h)
            hidden.append(model.encode(_halo_padded(pooled(begin, end), h, first, stop, begin, end), padded=not h))
        self.sequence = model.decode_hidden(model.recurrent(torch.cat(hidden)))
        # pass 2: the audio estimate from sample `kept` on, up to `inverse.emitted`
        self.inverse = SliceOverlapAdd(self.slicq, self.length)
        self.estimate, self.kept = audio.new_zeros(audio.shape[0], 0), 0
        self.window = torch.hann_window(self.stft.n_fft, dtype=audio.dtype, device=audio.device)

    def _synthesise(self) -> None:
        """The next `chunk` slices of the estimate, appended to `self.estimate`."""
        first = self.inverse.pushed
        stop = min(self.nb_slices, first + self.chunk)
        c0, c1 = first * self.half, (stop + 1) * self.half  # the grid columns these slices read
        f0, f1 = c0 // self.model.frame_pool, (c1 - 1) // self.model.frame_pool + 1
        mask = self.model.decode_output(self.sequence[f0:f1], self.estimate.shape[0])[:, 0].permute(1, 2, 0)  # (channels, bins, frames)
        held = torch.arange(c0, c1, device=mask.device) // self.model.frame_pool - f0
        coefs = self.slicq.analyse(self.slicq.slice_range(self.read, self.length, first, stop), first)
        slices = self.slicq.synthesise(coefs * self.slicq.frames_to_slices(mask[..., held]), first)
        self.estimate = torch.cat([self.estimate, self.inverse.push(slices)], dim=-1)

    def frames(self, first: int, stop: int, mix_mag: torch.Tensor) -> torch.Tensor:
        n_fft, hop = self.stft.n_fft, self.stft.hop
        # frames [first, stop) read samples [first·hop - n_fft/2, (stop - 1)·hop + n_fft/2] of
        # the estimate, and up to n_fft/2 + 1 reflected ones at its ends: keep a margin
        lo, hi = max(0, first * hop - n_fft), min(self.length, stop * hop + n_fft)
        while self.inverse.emitted < hi:
            self._synthesise()
        self.estimate, self.kept = self.estimate[:, lo - self.kept :], lo

        def read(start: int, end: int) -> torch.Tensor:
            return self.estimate[:, start - self.kept : end - self.kept]

        return stft_frames(read, self.length, n_fft, hop, self.window, first, stop).abs()


class _WholeTrack(_Magnitudes):
    """A model whose front end looks across the whole track (umx-mr-7-whole's NSGT; any model
    the blocked classes do not know; see docs/architecture.md): run once on the whole
    mixture, its base-STFT magnitude kept and handed out by block."""

    def __init__(self, model: torch.nn.Module, frontend: Frontend, audio: torch.Tensor) -> None:
        self.mag = frontend.stft_magnitude(model(frontend.inputs(audio[None])), audio[None])[0]

    def frames(self, first: int, stop: int, mix_mag: torch.Tensor) -> torch.Tensor:
        return self.mag[..., first:stop]


class _StftMagnitude(_Magnitudes):
    """|STFT| of a given signal (umx-mr-5b: the own-STFT estimates re-analysed), by block."""

    def __init__(self, audio: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor) -> None:
        self.read, self.length, self.n_fft, self.hop, self.window = array_reader(audio), audio.shape[-1], n_fft, hop, window

    def frames(self, first: int, stop: int, mix_mag: torch.Tensor) -> torch.Tensor:
        return stft_frames(self.read, self.length, self.n_fft, self.hop, self.window, first, stop).abs()


def _blockable(model: torch.nn.Module, frontend: Frontend | None, n_fft: int, hop: int) -> bool:
    """Whether `model` reads the base centred |STFT| with only frame-wise layers around its
    recurrent core (exactly OpenUnmix, in eval mode, on StftFrontend)."""
    stft_ok = frontend is None or (
        type(frontend) is StftFrontend and frontend.stft.center and (frontend.stft.n_fft, frontend.stft.hop) == (n_fft, hop)
    )
    return type(model) is OpenUnmix and not model.training and stft_ok


def _blockable_multires(model: torch.nn.Module, frontend: Frontend | None, n_fft: int, hop: int) -> bool:
    """Whether `model` is umx-mr-4 (exactly MultiResUnmix, in eval mode) on its own three centred
    STFTs with this base STFT."""
    if type(model) is not MultiResUnmix or model.training or type(frontend) is not MultiStftFrontend:
        return False
    s = model.scale_factor
    stfts = [(st.n_fft, st.hop, st.center) for st in [frontend.stft, *frontend.others]]
    return stfts == [(n_fft, hop, True), (n_fft * s, hop * s, True), (n_fft // s, hop // s, True)]


def _blockable_slicq(model: torch.nn.Module, frontend: Frontend | None, n_fft: int, hop: int) -> bool:
    """Whether `model` is umx-mr-7 (exactly NsgtUnmix, in eval mode) on the sliced NSGT, with
    its estimates going to this centred base STFT."""
    if type(model) is not NsgtUnmix or model.training or type(frontend) is not SlicedNsgtFrontend:
        return False
    return (frontend.stft.n_fft, frontend.stft.hop, frontend.stft.center) == (n_fft, hop, True)


def _stream(
    audio: torch.Tensor,
    sources: Mapping[str, _Magnitudes],
    n_fft: int,
    hop: int,
    niter: int,
    softmask: bool,
    residual: bool,
    win_len: int | None,
    block_frames: int,
) -> Iterator[dict[str, np.ndarray]]:
    """Wiener/EM and inverse STFT block by block; yields consecutive `{source: (n, nb_channels)}`.

    audio: the mixture `(nb_channels, nb_timesteps)` float32. Filtering windows are those of
    `wiener_in_windows` (`win_len` frames from frame 0; the whole track when None); with
    niter 0 the filter is frame by frame, so blocks of `block_frames` are filtered as they come.
    """
    if block_frames < 1:
        raise ValueError(f"block_frames: {block_frames} must be at least 1")
    nb_sources = len(sources) + int(residual)
    if nb_sources == 1 and niter > 0:
        raise ValueError("separation.niter > 0 needs at least two sources: add targets or set separation.residual")
    read, length = array_reader(audio), audio.shape[-1]
    total = nb_frames(length, n_fft, hop)
    window = torch.hann_window(n_fft, dtype=audio.dtype, device=audio.device)
    with torch.no_grad():
        # pass 1: the frame-wise layers before the recurrent cores, block by block
        first_pass = [s for s in sources.values() if s.needs_mixture]
        halo = max((s.halo for s in first_pass), default=0)
        for first in range(0, total if first_pass else 0, block_frames):
            stop = min(total, first + block_frames)
            lo, hi = max(0, first - halo), min(total, stop + halo)
            mag = stft_frames(read, length, n_fft, hop, window, lo, hi).abs()
            for s in first_pass:
                s.add(first, stop, lo, mag)
        for s in first_pass:
            s.finish()
        # pass 2: magnitudes, Wiener/EM per window, inverse STFT
        unit = (win_len or total) if niter > 0 else block_frames
        inverse = OverlapAdd(n_fft, hop, window, total, length)
        names = [*sources, *(["residual"] if residual else [])]
        for first in range(0, total, unit):
            stop = min(total, first + unit)
            x_parts, v_parts = [], []
            for a in range(first, stop, block_frames):
                b = min(stop, a + block_frames)
                x_block = stft_frames(read, length, n_fft, hop, window, a, b)  # (channels, bins, frames)
                mix_mag = x_block.abs()
                v_parts.append(torch.stack([s.frames(a, b, mix_mag) for s in sources.values()], dim=-1).cpu().numpy())
                x_parts.append(x_block.cpu().numpy())
            # to (frames, bins, channels, targets) and (frames, bins, channels) for norbert
            v = np.concatenate(v_parts, axis=2).transpose(2, 1, 0, 3).astype(np.float64)
            x = np.concatenate(x_parts, axis=2).transpose(2, 1, 0).astype(np.complex128)
            del v_parts, x_parts
            y = _wiener(v, x, niter, softmask, residual)
            # (nb_sources, nb_channels, nb_bins, frames), complex64 as open-unmix's ISTFT
            spec = torch.from_numpy(y.transpose(3, 2, 1, 0).astype(np.complex64)).to(audio.device)
            del v, x, y
            out = inverse.push(spec).cpu().numpy()
            yield {name: out[i].T for i, name in enumerate(names)}


def _collect(blocks: Iterator[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Consecutive blocks joined into whole estimates."""
    parts: dict[str, list[np.ndarray]] = {}
    for block in blocks:
        for name, audio in block.items():
            parts.setdefault(name, []).append(audio)
    return {name: np.concatenate(p) for name, p in parts.items()}


def separate_blocks(
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
    block_frames: int = BLOCK_FRAMES,
) -> Iterator[dict[str, np.ndarray]]:
    """The estimates of `separate`, as consecutive blocks `{source: (n, nb_channels)}`.

    Nothing of size frames × bins × channels × sources is kept for the whole track: the
    STFT, the frame-wise layers of Open-Unmix (`_BlockedOpenUnmix`; a conv fc1 with a halo
    of one frame), umx-mr-4's three STFTs, convolutions and frame-wise layers
    (`_BlockedMultiRes`: blocks on multiples of s base frames, a halo of one double and s/2
    half frames), umx-mr-7's sliCQ grid, pooling, frame-wise layers and masked inverse
    (`_BlockedSliCQ`: a halo of one whole slice, the estimate's audio slice by slice),
    norbert's Wiener/EM (per window, float64) and the inverse STFT go block by block; only
    the recurrent cores' `(nb_core_frames, hidden)` sequences (fc2/bn2's output) are whole.
    umx-mr-7-whole (the whole-signal NSGT) and models none of these classes knows run on
    the whole track (`_WholeTrack`); docs/architecture.md's table says what each front end
    needs at block edges.
    """
    # (nb_channels, nb_timesteps), a view of a float32 mixture (no copy on the CPU)
    audio = torch.from_numpy(np.asarray(mixture, dtype=np.float32)).T.to(device)
    del mixture
    total = nb_frames(audio.shape[-1], n_fft, hop)
    sources: dict[str, _Magnitudes] = {}
    with torch.no_grad():
        for target, model in models.items():
            frontend = None if frontends is None else frontends[target]
            if _blockable(model, frontend, n_fft, hop):
                sources[target] = _BlockedOpenUnmix(model, total)
            elif _blockable_multires(model, frontend, n_fft, hop):
                sources[target] = _BlockedMultiRes(model, frontend, audio, block_frames)
            elif _blockable_slicq(model, frontend, n_fft, hop):
                sources[target] = _BlockedSliCQ(model, frontend, audio, block_frames)
            else:
                sources[target] = _WholeTrack(model, frontend or StftFrontend(n_fft, hop, center=True).to(device), audio)
    yield from _stream(audio, sources, n_fft, hop, niter, softmask, residual, wiener_win_len, block_frames)


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
    block_frames: int = BLOCK_FRAMES,
) -> dict[str, np.ndarray]:
    """Estimates `{target: (nb_timesteps, nb_channels)}` for a `(nb_timesteps, nb_channels)` mixture.

    `frontends` (per target; default: the centred |STFT|, Open-Unmix's) turn the mixture into
    each model's input and its output into a magnitude of this STFT for the Wiener filter.
    Computed block by block (`separate_blocks`); "residual" is added when asked for.
    """
    return _collect(
        separate_blocks(mixture, models, n_fft, hop, niter, softmask, residual, wiener_win_len, device, frontends, block_frames)
    )


def separate_whole_track(
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
    """`separate` as it was before blocks: every stage on the whole track at once.

    The reference the blocked path is tested against (tests/test_separate_blocked.py); its
    memory grows by ~40 MB per second of audio, so the workflow does not use it.
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
    y = wiener_in_windows(v, x, niter, softmask, residual, wiener_win_len)
    # back to (nb_sources, nb_channels, nb_bins, nb_frames), then audio
    spec = torch.from_numpy(y.transpose(3, 2, 1, 0).astype(np.complex64)).to(device)
    estimates = ISTFT(n_fft, hop, center=True).to(device)(spec, length=mixture.shape[0]).cpu().numpy()
    names = [*models, *(["residual"] if residual else [])]
    return {name: estimates[i].T for i, name in enumerate(names)}


def _own_stft_estimates(
    mixture: np.ndarray, models: Mapping[str, tuple[torch.nn.Module, int, int]], win_len: int | None, device: torch.device, block_frames: int
) -> dict[str, np.ndarray]:
    """(a) each target masked in its own STFT: its magnitude with that STFT's mixture phase, inverted alone."""
    # one source, no EM, no soft mask: norbert's initial estimate = magnitude × mixture phase
    return {
        target: separate(mixture, {target: model}, n_fft, hop, 0, False, False, win_len, device, None, block_frames)[target]
        for target, (model, n_fft, hop) in models.items()
    }


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
    block_frames: int = BLOCK_FRAMES,
) -> dict[str, np.ndarray]:
    """Separate with models `{target: (model, n_fft, hop)}` whose STFTs differ.

    norbert's Wiener/EM needs one STFT for all sources. `mode` own: (a) every target in its
    own STFT, no joint filter. `mode` common: (b) the estimates of (a) resynthesised and
    re-analysed in `common_stft` (n_fft, hop); their magnitudes then go through the joint
    Wiener/EM with the mixture's STFT there, as in `separate`. Both block by block; only
    the own-STFT estimates' audio is whole.
    """
    if mode not in ("own", "common"):
        raise ValueError(f"separation.per_target_stft: {mode!r} is neither 'own' nor 'common'")
    own = _own_stft_estimates(mixture, models, wiener_win_len, device, block_frames)
    if mode == "own":
        return own
    n_fft, hop = common_stft
    audio = torch.from_numpy(np.ascontiguousarray(mixture.T, dtype=np.float32)).to(device)
    window = torch.hann_window(n_fft, device=device)
    sources = {
        t: _StftMagnitude(torch.from_numpy(np.ascontiguousarray(own.pop(t).T)).to(device), n_fft, hop, window) for t in list(models)
    }
    return _collect(_stream(audio, sources, n_fft, hop, niter, softmask, residual, wiener_win_len, block_frames))


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
        "sample_format": separation.get("sample_format", "float"),
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
    complement: str | None = None,
) -> None:
    """Separate test track `track` of the manifest; write one WAV per target (same order as the
    models) and, to `provenance_out`, the record of what produced them (`run`: the run's provenance).

    With `complement` (a single-target study, `umxmr.target_sets`), the separation's residual
    (mixture minus the target, `separation.residual`) is written to the output after the targets.
    """
    conf = json.loads(Path(separator).read_text())
    device = pick_device(conf.get("device", "auto"))
    tracks = {t.name: t for t in load_manifest(manifest)["test"]}
    mixture = read_audio(tracks[track].path("mixture"))
    blocks, wiener = separation_blocks(mixture, conf, summaries, weights, device)
    del mixture  # the generator holds the only reference
    names = list(conf["targets"])
    if complement:
        if not wiener["residual"]:
            raise ValueError(f"{separator}: no residual to write as {complement}; set separation.residual: true")
        names.append(complement)
        blocks = ({**block, complement: block["residual"]} for block in blocks)
    subtype = SAMPLE_FORMATS[conf.get("sample_format", "float")]
    # written block by block as the estimates come (bounded memory on full-length tracks)
    write_audio_blocks(outputs, names, blocks, int(conf["sample_rate"]), subtype)
    models = {target: json.loads(Path(summary).read_text()) for target, summary in zip(conf["targets"], summaries)}
    write_separation_provenance(provenance_out, run, str(device), wiener, models)


def separate_with_model_files(
    mixture: np.ndarray, conf: Mapping[str, Any], summaries: Sequence[Path], weights: Sequence[Path], device: torch.device
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Estimates `{target: (nb_timesteps, nb_channels)}` of a `(nb_timesteps, nb_channels)` mixture
    at `conf["sample_rate"]` with the models of a separator.json (`conf`), and the Wiener/EM
    settings applied. `summaries`/`weights`: the model JSONs and state dicts in `conf["targets"]` order."""
    blocks, wiener = separation_blocks(mixture, conf, summaries, weights, device)
    return _collect(blocks), wiener


def separation_blocks(
    mixture: np.ndarray, conf: Mapping[str, Any], summaries: Sequence[Path], weights: Sequence[Path], device: torch.device
) -> tuple[Iterator[dict[str, np.ndarray]], dict[str, Any]]:
    """Consecutive blocks `{name: (n, nb_channels)}` of the estimates of a `(nb_timesteps,
    nb_channels)` mixture with the models of a separator.json (`conf`; "residual" among them when
    asked for), and the Wiener/EM settings applied. Per-target STFTs give one whole block."""
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
        blocks = iter([estimates])
    else:
        frontends = {
            target: load_target_frontend(summary, conf["sample_rate"], device)
            for target, summary in zip(conf["targets"], summaries)
        }
        blocks = separate_blocks(
            mixture,
            models,
            n_fft=conf["nfft"],
            hop=conf["nhop"],
            device=device,
            frontends=frontends,
            **wiener,
        )
    return blocks, wiener
