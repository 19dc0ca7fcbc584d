"""Phase-mix oracle search for the STFT window, as the notes' search defined it.

For a window `w` the STFT is Hann with overlap `w // 4` (hop `w - w // 4`), padded at both
ends and to whole frames (scipy's `stft(padded=True, boundary='zeros')`): with hop 3w/4 the
overlap-add envelope of an unpadded signal nearly vanishes at its end. The oracle estimate
of a source is |STFT(source)| with the phase of the mixture STFT (the sum of the source
STFTs, as the notes' script), inverted and cropped to the track. The score is the global
SDR per track and target, averaged over the validation tracks; "total" is the mean over
targets.

Windows are drawn as the notes' script drew them: Python's `random.seed(seed)` and
`random.choice(grid)` per draw (with replacement). That RNG reproduces every window the
notes report for seeds 42 and 1337; numpy's seeded generators do not.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.fft
import scipy.signal
from tqdm import tqdm

from umxmr.atomic import atomic_path, write_text
from umxmr.data.audio import read_audio
from umxmr.data.layout import TrackInfo

EPS = 1e-10


# --- the transform -------------------------------------------------------------------------


def search_hop(window: int) -> int:
    """Hop of the search's STFT: overlap `window // 4`, so hop = window - window // 4."""
    return window - window // 4


@lru_cache(maxsize=8)
def _hann(window: int) -> np.ndarray:
    return scipy.signal.get_window("hann", window).astype(np.float32)  # periodic, as scipy.signal.stft


def _padding(length: int, window: int, hop: int) -> tuple[int, int, int]:
    """(zeros before, zeros after, frames): `window // 2` zeros each side, then whole frames."""
    before = window // 2
    padded = length + 2 * before
    extra = (-(padded - window) % hop) % window
    return before, before + extra, (padded + extra - window) // hop + 1


def _frames(padded: np.ndarray, window: int, hop: int) -> np.ndarray:
    """View `(..., nb_frames, window)` of frames every `hop` samples of already padded audio."""
    return np.lib.stride_tricks.sliding_window_view(padded, window, axis=-1)[..., ::hop, :]


def _analyse(frames: np.ndarray, window: int) -> np.ndarray:
    """Hann-windowed rfft of each frame."""
    return scipy.fft.rfft(frames * _hann(window), axis=-1, workers=1)


def _synthesise(spec: np.ndarray, window: int, hop: int) -> np.ndarray:
    """irfft of each frame times the synthesis window, ready for the overlap-add."""
    frames = scipy.fft.irfft(spec, n=window, axis=-1, workers=1).astype(np.float32, copy=False)
    frames *= _synthesis_window(window, hop)
    return frames


def stft(audio: np.ndarray, window: int, hop: int | None = None) -> np.ndarray:
    """Complex STFT `(..., nb_frames, window // 2 + 1)` of real `(..., nb_timesteps)` audio.

    Same frames as scipy.signal.stft(padded=True, boundary='zeros'), without its scaling.
    """
    hop = hop or search_hop(window)
    before, after, _ = _padding(audio.shape[-1], window, hop)
    padded = np.pad(audio.astype(np.float32, copy=False), [(0, 0)] * (audio.ndim - 1) + [(before, after)])
    return _analyse(_frames(padded, window, hop), window)


def _overlap_add(frames: np.ndarray, hop: int) -> np.ndarray:
    """Sum frames `(..., nb_frames, window)` placed every `hop` samples (window ≤ 2·hop)."""
    nb_frames, window = frames.shape[-2:]
    if window > 2 * hop:
        raise ValueError(f"overlap-add needs window ≤ 2·hop, got window {window}, hop {hop}")
    out = np.zeros(frames.shape[:-2] + ((nb_frames + 1) * hop,), dtype=frames.dtype)
    heads = out[..., : nb_frames * hop].reshape(frames.shape[:-2] + (nb_frames, hop))
    heads += frames[..., :hop]
    tails = out[..., hop : (nb_frames + 1) * hop].reshape(frames.shape[:-2] + (nb_frames, hop))
    tails[..., : window - hop] += frames[..., hop:]
    return out


@lru_cache(maxsize=8)
def _synthesis_window(window: int, hop: int) -> np.ndarray:
    """Hann divided by the overlap-add of Hann² (H-periodic away from the padded ends).

    Applying it per frame before the overlap-add is the least-squares inverse everywhere
    `istft` crops to: the crop never reaches the last frame's unshared tail.
    """
    win = _hann(window).astype(np.float64)
    env = np.zeros(hop)
    for start in range(0, window, hop):
        part = win[start : start + hop] ** 2
        env[: part.size] += part
    return (win / np.resize(env, window)).astype(np.float32)


def istft(spec: np.ndarray, window: int, length: int, hop: int | None = None) -> np.ndarray:
    """Inverse of `stft` (least squares overlap-add), cropped to `length` samples."""
    hop = hop or search_hop(window)
    before, _, nb_frames = _padding(length, window, hop)
    if spec.shape[-2] != nb_frames:
        raise ValueError(f"istft: {spec.shape[-2]} frames, but a {length}-sample signal has {nb_frames}")
    return _overlap_add(_synthesise(spec, window, hop), hop)[..., before : before + length]


# --- the oracle and its score ---------------------------------------------------------------


def _energies(audio: np.ndarray) -> np.ndarray:
    """Σ x² over all but the first axis, accumulated in float64 without a float64 copy."""
    flat = audio.reshape(audio.shape[0], -1)
    return np.einsum("ij,ij->i", flat, flat, dtype=np.float64)


def _sdr(reference_energy: np.ndarray | float, error_energy: np.ndarray | float, eps: float = EPS) -> np.ndarray:
    """10·log10((Σ ref² + eps) / (Σ (ref − est)² + eps))."""
    return 10.0 * np.log10((np.asarray(reference_energy) + eps) / (np.asarray(error_energy) + eps))


def global_sdr(reference: np.ndarray, estimate: np.ndarray, eps: float = EPS) -> float:
    """10·log10((Σ ref² + eps) / (Σ (ref − est)² + eps)) over all samples and channels."""
    ref = np.ravel(reference)[None]
    return float(_sdr(_energies(ref)[0], _energies(ref - np.ravel(estimate)[None])[0], eps))


# frames per block: about this many samples per source channel, so one block of every
# source's frames, spectra and estimates stays in cache (1.27× faster than whole signals)
BLOCK_SAMPLES = 16384
_TINY = np.finfo(np.float32).tiny


class OracleTrack:
    """A track's stems, zero-padded once for every window up to `max_window`, and their energies.

    The search scores hundreds of windows on each track; the padding and Σ source² do not
    depend on the window, so they are computed once here.
    """

    def __init__(self, sources: np.ndarray, max_window: int):
        """`sources`: `(nb_sources, nb_channels, nb_timesteps)`."""
        sources = sources.astype(np.float32, copy=False)
        self.length = sources.shape[-1]
        self.max_window = max_window
        self.margin = 2 * max_window  # ≥ window // 2 + hop: the padding of every window
        self.audio = np.pad(sources, [(0, 0), (0, 0), (self.margin, self.margin)])
        self.energy = _energies(sources)

    def phase_mix_sdrs(self, window: int, block: int = BLOCK_SAMPLES) -> np.ndarray:
        """Global SDR of the phase-mix oracle per source, streamed over blocks of frames.

        The mixture STFT is the sum of the source STFTs (as the notes' script). Each block's
        estimates are overlap-added with the previous block's tail, and the error energy of
        the samples they complete is accumulated at once: no whole-track spectrum or estimate
        is ever held.
        """
        if window > self.max_window:
            raise ValueError(f"window {window} is longer than the {self.max_window} this track was padded for")
        hop = search_hop(window)
        before, after, nb_frames = _padding(self.length, window, hop)
        start = self.margin - before
        padded = self.audio[..., start : start + before + self.length + after]
        frames = _frames(padded, window, hop)
        overlap = window - hop
        carry = np.zeros(self.audio.shape[:2] + (overlap,), np.float32)
        error = np.zeros(len(self.audio))
        step = max(1, block // window)
        for first in range(0, nb_frames, step):
            last = min(nb_frames, first + step)
            spec = _analyse(frames[..., first:last, :], window)
            phase = spec.sum(axis=0)
            # mixture phase as mix / |mix|, by a real reciprocal: a complex division costs ~10× more
            inverse = np.abs(phase)
            np.reciprocal(np.maximum(inverse, _TINY, out=inverse), out=inverse)
            phase *= inverse
            np.multiply(np.abs(spec), phase, out=spec)
            out = _overlap_add(_synthesise(spec, window, hop), hop)
            out[..., :overlap] += carry
            done = (last - first) * hop
            carry = out[..., done : done + overlap].copy()
            lo, hi = max(first * hop, before), min(last * hop, before + self.length)
            if hi > lo:
                error += _energies(padded[..., lo:hi] - out[..., lo - first * hop : hi - first * hop])
        return _sdr(self.energy, error)


def phase_mix_sdrs(sources: np.ndarray, window: int, block: int = BLOCK_SAMPLES) -> np.ndarray:
    """Global SDR of the phase-mix oracle per source of `(nb_sources, nb_channels, nb_timesteps)`."""
    return OracleTrack(sources, window).phase_mix_sdrs(window, block)


# --- the search -----------------------------------------------------------------------------


def window_grid(grid: Mapping[str, int]) -> list[int]:
    """range(start, stop, step) of the config's `oracle.grid`."""
    return list(range(grid["start"], grid["stop"], grid["step"]))


def random_windows(grid: Sequence[int], draws: int, seed: int) -> list[int]:
    """`draws` windows with replacement, as the notes: random.seed(seed); random.choice(grid)."""
    rng = random.Random(seed)
    return [rng.choice(grid) for _ in range(draws)]


def search_windows(oracle: Mapping[str, Any], search: str) -> list[int]:
    """Windows of one search file: a seed's random draws, the whole grid, or the controls."""
    if search == "grid":
        return window_grid(oracle["grid"])
    if search == "controls":
        return sorted({oracle["controls"]["single"], oracle["controls"]["per_target"]})
    return random_windows(window_grid(oracle["grid"]), oracle["draws"], int(search))


_TRACK: dict[str, OracleTrack] = {}


def _oracle_track(track: TrackInfo, targets: tuple[str, ...], max_window: int) -> OracleTrack:
    """The track's stems padded for the search; the last track read is kept per process."""
    key = f"{track.folder}|{','.join(targets)}|{max_window}"
    if key not in _TRACK:
        _TRACK.clear()
        _TRACK[key] = OracleTrack(np.stack([read_audio(track.path(t)).T for t in targets]), max_window)
    return _TRACK[key]


def _evaluate(task: tuple[int, TrackInfo, tuple[str, ...], int, int]) -> tuple[int, int, np.ndarray]:
    index, track, targets, max_window, window = task
    return index, window, _oracle_track(track, targets, max_window).phase_mix_sdrs(window)


def _results(tasks: list, jobs: int) -> Iterator[tuple[int, int, np.ndarray]]:
    if jobs <= 1:
        yield from map(_evaluate, tasks)
        return
    # fork: the workers need nothing but this module (FFTs run with workers=1; callers cap
    # BLAS threads by environment before numpy loads). Tasks are track-major, so each worker
    # reads a track once and then evaluates windows on it.
    with ProcessPoolExecutor(jobs, mp_context=get_context("fork")) as pool:
        yield from pool.map(_evaluate, tasks, chunksize=1)


def evaluate_windows(
    tracks: Sequence[TrackInfo], windows: Sequence[int], targets: Sequence[str], jobs: int = 1, progress: bool = True
) -> pd.DataFrame:
    """Mean phase-mix SDR over `tracks` per distinct window of `windows` and target, plus total.

    Columns: window, hop, draws (how often the window occurs in `windows`), the targets, total.
    """
    if not tracks:
        raise ValueError("oracle search: no validation tracks in the manifest; the search scores the 'valid' split")
    distinct = sorted(set(windows))
    targets = tuple(targets)
    tasks = [(i, track, targets, distinct[-1], w) for i, track in enumerate(tracks) for w in distinct]
    scores = np.zeros((len(distinct), len(tracks), len(targets)))
    row = {w: i for i, w in enumerate(distinct)}
    results = _results(tasks, jobs)
    for index, window, sdrs in tqdm(results, total=len(tasks), desc="oracle windows×tracks", disable=not progress, mininterval=2):
        scores[row[window], index] = sdrs
    means = scores.mean(axis=1)
    table = pd.DataFrame({"window": distinct, "hop": [search_hop(w) for w in distinct]})
    table["draws"] = [list(windows).count(w) for w in distinct]
    for j, target in enumerate(targets):
        table[target] = means[:, j]
    table["total"] = means.mean(axis=1)
    return table


def write_search(path: Path, table: pd.DataFrame) -> None:
    with atomic_path(Path(path)) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6f")


# --- the choice ------------------------------------------------------------------------------


def _best_row(table: pd.DataFrame, column: str) -> pd.Series:
    """Highest score; ties go to the shorter window."""
    ordered = table.sort_values([column, "window"], ascending=[False, True], kind="stable")
    return ordered.iloc[0]


def _at_window(table: pd.DataFrame, window: int) -> pd.Series:
    rows = table[table["window"] == window]
    if rows.empty:
        raise ValueError(f"oracle controls: window {window} was not evaluated")
    return rows.iloc[0]


def best_windows(searches: Mapping[str, pd.DataFrame], controls: pd.DataFrame, targets: Sequence[str], control_windows: Mapping[str, int]) -> dict[str, Any]:
    """The contents of best.json: single best window, best window per target, and the controls."""
    table = pd.concat([t.assign(search=name) for name, t in searches.items()], ignore_index=True)
    single = _best_row(table, "total")
    per_target = {}
    for target in targets:
        row = _best_row(table, target)
        per_target[target] = {"window": int(row["window"]), "hop": int(row["hop"]), "sdr": float(row[target]), "search": str(row["search"])}
    single_control = _at_window(controls, control_windows["single"])
    target_control = _at_window(controls, control_windows["per_target"])
    return {
        "definition": "phase-mix oracle, Hann STFT with overlap window//4, global SDR (eps 1e-10) averaged over the valid tracks",
        "searches": list(searches),
        "single": {
            "window": int(single["window"]),
            "hop": int(single["hop"]),
            "total": float(single["total"]),
            "sdr": {t: float(single[t]) for t in targets},
            "search": str(single["search"]),
        },
        "per_target": per_target,
        "per_target_total": float(np.mean([per_target[t]["sdr"] for t in targets])),
        "controls": {
            "single": {"window": int(single_control["window"]), "total": float(single_control["total"]), "sdr": {t: float(single_control[t]) for t in targets}},
            "per_target": {"window": int(target_control["window"]), "total": float(target_control["total"]), "sdr": {t: float(target_control[t]) for t in targets}},
        },
    }


def write_best(path: Path, best: Mapping[str, Any]) -> None:
    write_text(Path(path), json.dumps(best, indent=2, sort_keys=True) + "\n")


def cpu_jobs(threads: int) -> int:
    """Processes for the search: the job's threads, at most the CPUs this process may use."""
    return max(1, min(threads, len(os.sched_getaffinity(0))))
