"""The SDR path (umxmr.evaluation.sdr) against museval.evaluate, and its throughput on files.

1. One generated 4-target stereo track of ``--seconds`` (default 240): the SDR path's time on
   the whole track; museval.evaluate's time on its first ``--museval-seconds`` (default 30
   and 60; museval on the whole 4 minutes needs about 6 GB and 3.6 CPU-minutes, too much for
   a shared machine), the SDR path's on the same excerpts (ratio measured like for like), and
   museval's time at ``--seconds`` extrapolated by a line through its two excerpt times.
   Both run with one BLAS thread; the SDR path's numbers are checked against museval's.
2. Throughput: ``--tracks`` generated tracks of ``--track-seconds`` written as float32 WAVs
   (estimates and references, as the workflow's), read once so they sit in the page cache,
   then evaluated by :func:`evaluate_track_dirs_sdr` (what the ``evaluate_sdr`` rule runs) in
   ``--workers`` processes, tracks batched per process (no job start-up, no museval import).

    PYTHONPATH=$PWD python bench/sdr_speed.py [--seconds 240] [--museval-seconds 30 60]
        [--tracks 5 --track-seconds 120 --workers 2] [--workdir /tmp/sdr_bench]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf
from threadpoolctl import threadpool_limits

from umxmr.evaluation.sdr import evaluate_track_dirs_sdr, framewise_sdr

RATE = 44100
TARGETS = ("vocals", "drums", "bass", "other")


def generated_track(seconds: float, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """4 stereo references with a silent stretch, estimates = leakage + noise (float64)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    refs = [0.1 * rng.standard_normal((n, 2)) for _ in TARGETS]
    refs[0][n // 3 : n // 3 + 5 * RATE] = 0.0  # vocals silent for 5 s: NaN frames
    mix = sum(refs)
    ests = [0.8 * r + 0.1 * mix + 0.02 * rng.standard_normal(r.shape) for r in refs]
    return refs, ests


def timed(func, *args, repeat: int = 1):
    """(wall seconds, result): the median of `repeat` calls; their median CPU seconds of this
    process go to ``timed.cpu``. The SDR path takes a fraction of a second, so one call's time
    depends on what ran before it (museval's freed gigabytes: page faults): it gets 5."""
    walls, cpus = [], []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        out = func(*args)
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - start)
    timed.cpu = float(np.median(cpus))
    return float(np.median(walls)), out


def part_speed(seconds: float, museval_seconds: list[float]) -> None:
    from umxmr.evaluation.museval_import import import_museval

    refs, ests = generated_track(seconds, 0)
    with threadpool_limits(1):
        t_fast, sdr = timed(framewise_sdr, refs, ests, RATE, RATE, repeat=5)
        c_fast = timed.cpu
        print(f"SDR path, {seconds:.0f} s track: {t_fast:.3f} s wall, {c_fast:.3f} s CPU ({sdr.shape[1]} frames)")
        t_import, museval = timed(import_museval)
        print(f"import museval: {t_import:.2f} s (the SDR path does not import it)")
        points = []
        for excerpt in museval_seconds:
            n = int(excerpt * RATE)
            r, e = [x[:n] for x in refs], [x[:n] for x in ests]
            t_mus, expected = timed(museval.evaluate, r, e, RATE, RATE)
            c_mus = timed.cpu
            t_ours, ours = timed(framewise_sdr, r, e, RATE, RATE, repeat=5)
            c_ours = timed.cpu
            ok = np.array_equal(np.isnan(ours), np.isnan(expected[0]))
            diff = np.nanmax(np.abs(ours - expected[0]))
            points.append((excerpt, t_mus, c_mus))
            print(
                f"{excerpt:.0f} s excerpt: museval.evaluate {t_mus:.1f} s wall / {c_mus:.1f} s CPU, SDR path "
                f"{t_ours:.4f} s / {c_ours:.4f} s, ratio {t_mus / t_ours:.0f}x wall, {c_mus / c_ours:.0f}x CPU; "
                f"max |ΔSDR| {diff:.1e} dB, same NaN frames: {ok}"
            )
    if len(points) >= 2:
        (x0, y0, z0), (x1, y1, z1) = points[0], points[-1]
        t_mus = y0 + (y1 - y0) * (seconds - x0) / (x1 - x0)
        c_mus = z0 + (z1 - z0) * (seconds - x0) / (x1 - x0)
        print(
            f"museval.evaluate at {seconds:.0f} s, extrapolated (line through {x0:.0f} s and {x1:.0f} s): "
            f"{t_mus:.0f} s wall / {c_mus:.0f} s CPU; ratio to the SDR path on the whole track: "
            f"{t_mus / t_fast:.0f}x wall, {c_mus / c_fast:.0f}x CPU"
        )


def _write_track(folder: Path, seconds: float, seed: int) -> None:
    refs, ests = generated_track(seconds, seed)
    for kind, audio in (("ref", refs), ("est", ests)):
        (folder / kind).mkdir(parents=True, exist_ok=True)
        for target, a in zip(TARGETS, audio):
            sf.write(folder / kind / f"{target}.wav", a.astype(np.float32), RATE, subtype="FLOAT")


def _evaluate_batch(folders: list[str]) -> None:
    with threadpool_limits(1):
        for folder in map(Path, folders):
            evaluate_track_dirs_sdr(folder / "ref", folder / "est", TARGETS, folder / "sdr.json", folder.name)


def part_throughput(workdir: Path, tracks: int, track_seconds: float, workers: int) -> None:
    folders = [workdir / f"track{k:02d}" for k in range(tracks)]
    for k, folder in enumerate(folders):
        if not (folder / "est" / "other.wav").exists():
            _write_track(folder, track_seconds, 100 + k)
    for path in workdir.glob("*/*/*.wav"):  # into the page cache
        path.read_bytes()
    batches = [[str(f) for f in folders[w::workers]] for w in range(workers)]
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:  # the workers are reaped on leaving: their CPU is counted
        list(pool.map(_evaluate_batch, batches))
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    audio = tracks * track_seconds
    print(
        f"throughput: {tracks} tracks x {track_seconds:.0f} s = {audio / 60:.1f} min of 4-target stereo audio "
        f"in {wall:.1f} s wall with {workers} processes: {audio / wall:.0f} audio-seconds per second "
        f"(the 3.45 h MUSDB18 test set: {3.45 * 3600 / (audio / wall):.0f} s); CPU {cpu:.1f} s in all: "
        f"{audio / cpu * workers:.0f} audio-seconds per second on {workers} idle cores"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=240.0)
    parser.add_argument("--museval-seconds", type=float, nargs="*", default=[30.0, 60.0])
    parser.add_argument("--tracks", type=int, default=5)
    parser.add_argument("--track-seconds", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/sdr_bench"))
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the generated WAVs")
    args = parser.parse_args()
    print(f"cpus={os.cpu_count()} load={os.getloadavg()[0]:.1f} python={sys.version.split()[0]}")
    if not args.skip_speed:
        part_speed(args.seconds, args.museval_seconds)
    if args.tracks:
        part_throughput(args.workdir, args.tracks, args.track_seconds, args.workers)
        if not args.keep:
            shutil.rmtree(args.workdir)


if __name__ == "__main__":
    main()
