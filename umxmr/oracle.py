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
from umxmr.audio import read_audio
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


def stft(audio: np.ndarray, window: int, hop: int | None = None) -> np.ndarray:
    """Complex STFT `(..., nb_frames, window // 2 + 1)` of real `(..., nb_timesteps)` audio.

    Same frames as scipy.signal.stft(padded=True, boundary='zeros'), without its scaling.
    """
    hop = hop or search_hop(window)
    before, after, _ = _padding(audio.shape[-1], window, hop)
    padded = np.pad(audio.astype(np.float32, copy=False), [(0, 0)] * (audio.ndim - 1) + [(before, after)])
    frames = np.lib.stride_tricks.sliding_window_view(padded, window, axis=-1)[..., ::hop, :]
    return scipy.fft.rfft(frames * _hann(window), axis=-1, workers=1)


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
    frames = scipy.fft.irfft(spec, n=window, axis=-1, workers=1).astype(np.float32, copy=False)
    frames *= _synthesis_window(window, hop)
    return _overlap_add(frames, hop)[..., before : before + length]


# --- the oracle and its score ---------------------------------------------------------------


def global_sdr(reference: np.ndarray, estimate: np.ndarray, eps: float = EPS) -> float:
    """10·log10((Σ ref² + eps) / (Σ (ref − est)² + eps)) over all samples and channels."""
    ref = np.ravel(reference)
    err = ref - np.ravel(estimate)
    # float64 accumulation without a float64 copy of the audio
    num = float(np.einsum("i,i->", ref, ref, dtype=np.float64))
    den = float(np.einsum("i,i->", err, err, dtype=np.float64))
    return float(10.0 * np.log10((num + eps) / (den + eps)))


def phase_mix_sdrs(sources: np.ndarray, window: int) -> np.ndarray:
    """Global SDR of the phase-mix oracle per source of `(nb_sources, nb_channels, nb_timesteps)`.

    The mixture STFT and its phase are computed once and reused for every source; only one
    source's estimate is held in the time domain at a time.
    """
    length = sources.shape[-1]
    mags = []
    mix = None
    for source in sources:
        spec = stft(source, window)
        mags.append(np.abs(spec))
        mix = spec if mix is None else mix + spec
    # mixture phase as mix / |mix|, by a real reciprocal: a complex division costs ~10× more
    inv = np.reciprocal(np.maximum(np.abs(mix), np.finfo(np.float32).tiny))
    return np.array([global_sdr(src, istft(mix * (mag * inv), window, length)) for src, mag in zip(sources, mags)])


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


_TRACK: dict[str, np.ndarray] = {}


def _track_sources(track: TrackInfo, targets: tuple[str, ...]) -> np.ndarray:
    """`(nb_targets, nb_channels, nb_timesteps)` stems; the last track read is kept per process."""
    key = f"{track.folder}|{','.join(targets)}"
    if key not in _TRACK:
        _TRACK.clear()
        _TRACK[key] = np.stack([read_audio(track.path(t)).T for t in targets])
    return _TRACK[key]


def _evaluate(task: tuple[int, TrackInfo, tuple[str, ...], int]) -> tuple[int, int, np.ndarray]:
    index, track, targets, window = task
    return index, window, phase_mix_sdrs(_track_sources(track, targets), window)


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
    tasks = [(i, track, targets, w) for i, track in enumerate(tracks) for w in distinct]
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
