"""Cost of the phase-mix oracle search per (track-second × window), and the grid on MUSDB18-HQ valid.

Runs, on the same synthetic tracks: the pipeline's search as the workflow runs it
(umxmr.oracle.search.evaluate_windows, `--jobs` processes) over the whole 254-window grid, so the
grid time on the 14 valid tracks (~3,300 s of audio) is extrapolated in audio length only;
then, on `--windows` windows sampled from the grid and interleaved window by window so that
both see the same share of the machine, the search in one process and the notes' way
(scipy.signal stft/istft per source, float64 SDR, one process, as their script ran).
Synthetic stereo WAV tracks stand in for MUSDB18-HQ (the cost depends on length, not content).

    OMP_NUM_THREADS=1 python bench/oracle_search.py --tracks 1 --seconds 30 --windows 10
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.signal
import soundfile as sf

from umxmr.data.layout import TrackInfo
from umxmr.oracle.search import evaluate_windows, window_grid

TARGETS = ["vocals", "drums", "bass", "other"]
VALID_SECONDS = 3300.0  # the 14 MUSDB18-HQ valid tracks
GRID = window_grid({"start": 256, "stop": 32768, "step": 128})
NOTES_SECONDS_PER_WINDOW = 68.0  # reference: the notes' way on the valid set
FFT_FLOOR_GRID_S = 40 * 60.0  # reference: FFT work alone, grid on 2 cores


def make_tracks(root: Path, count: int, seconds: float) -> list[TrackInfo]:
    rng = np.random.default_rng(0)
    frames = int(seconds * 44100)
    tracks = []
    for i in range(count):
        folder = root / f"track{i}"
        folder.mkdir()
        for target in TARGETS:
            sf.write(folder / f"{target}.wav", 0.1 * rng.standard_normal((frames, 2)).astype(np.float32), 44100, subtype="FLOAT")
        tracks.append(TrackInfo(f"track{i}", "valid", str(folder), frames, 44100, 2))
    return tracks


def notes_way(tracks: list[TrackInfo], window: int) -> list[float]:
    """The notes' script: scipy stft/istft per source, mixture = sum of source STFTs, float64 SDR."""
    means = []
    for track in tracks:
        sources = {t: sf.read(track.path(t), dtype="float32")[0] for t in TARGETS}
        n = track.frames
        coefs = {t: scipy.signal.stft(a.T, nperseg=window, noverlap=window // 4)[-1].astype(np.complex64) for t, a in sources.items()}
        mix = 1e-10 + sum(coefs.values())
        phase = np.exp(1j * np.angle(mix))
        sdrs = []
        for t, a in sources.items():
            est = scipy.signal.istft(np.abs(coefs[t]) * phase, nperseg=window, noverlap=window // 4)[1].T.astype(np.float32)[:n]
            num = np.sum(np.square(a.astype(np.float64))) + 1e-10
            den = np.sum(np.square(a.astype(np.float64) - est)) + 1e-10
            sdrs.append(10 * np.log10(num / den))
        means.append(float(np.mean(sdrs)))
    return means


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--windows", type=int, default=10, help="windows sampled from the grid (seed 0)")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    windows = random.Random(0).sample(GRID, args.windows)
    audio_seconds = args.tracks * args.seconds
    with tempfile.TemporaryDirectory() as tmp:
        tracks = make_tracks(Path(tmp), args.tracks, args.seconds)
        start = time.perf_counter()
        evaluate_windows(tracks, GRID, TARGETS, jobs=args.jobs, progress=False)
        ours = (time.perf_counter() - start) / (audio_seconds * len(GRID))
        spent = {"ours1": 0.0, "notes": 0.0}
        for window in windows:
            for name, run in (
                ("ours1", lambda: evaluate_windows(tracks, [window], TARGETS, jobs=1, progress=False)),
                ("notes", lambda: notes_way(tracks, window)),
            ):
                start = time.perf_counter()
                run()
                spent[name] += time.perf_counter() - start
        ours1, notes = (spent[k] / (audio_seconds * len(windows)) for k in ("ours1", "notes"))
    grid_ours = ours * VALID_SECONDS * len(GRID)
    grid_notes = notes * VALID_SECONDS * len(GRID)
    print(f"machine: {os.cpu_count()} CPUs visible, {len(os.sched_getaffinity(0))} usable, load {os.getloadavg()[0]:.1f}")
    print(f"{args.tracks} tracks × {args.seconds:.0f} s")
    print(f"ours ({args.jobs} processes), whole grid: {ours * 1e3:.3f} ms per track-second × window")
    print(f"sample of windows {sorted(windows)}, interleaved:")
    print(f"  ours (1 process):       {ours1 * 1e3:.3f} ms per track-second × window")
    print(f"  notes' way (1 process): {notes * 1e3:.3f} ms per track-second × window")
    print(f"grid ({len(GRID)} windows) on {VALID_SECONDS:.0f} s: ours {grid_ours / 60:.1f} min, notes' way from the sample {grid_notes / 3600:.2f} h")
    print(f"ratio notes' way / ours: {grid_notes / grid_ours:.2f} (grid, ours with {args.jobs} processes), {notes / ours1:.2f} (sample, 1 process each)")
    print(f"ratio reference notes' way ({NOTES_SECONDS_PER_WINDOW:.0f} s/window, {NOTES_SECONDS_PER_WINDOW * len(GRID) / 3600:.1f} h) / ours: "
          f"{NOTES_SECONDS_PER_WINDOW * len(GRID) / grid_ours:.2f}")
    print(f"ratio ours / FFT floor (40 min): {grid_ours / FFT_FLOOR_GRID_S:.2f}")


if __name__ == "__main__":
    main()
