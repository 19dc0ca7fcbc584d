"""Evaluation of one 30 s stereo 4-target track: our rule's code path vs plain museval.

Both run with one BLAS thread per process (museval's own numbers change in the last bits
with the BLAS thread count, so like is compared with like); ours uses 2 worker processes
(the evaluate rule's `threads: 2`). Prints both wall times, the ratio and whether every
number of museval's JSON is identical.

    PYTHONPATH=$PWD python bench/evaluate_speed.py [--seconds 30] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import time
from collections import OrderedDict
from types import SimpleNamespace

import numpy as np
from threadpoolctl import threadpool_limits

from umxmr.evaluation.evaluate import evaluate_track
from umxmr.evaluation.museval_import import import_museval

RATE = 44100
TARGETS = ("vocals", "drums", "bass", "other")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    museval = import_museval()
    rng = np.random.default_rng(0)
    n = int(args.seconds * RATE)
    refs = {t: 0.1 * rng.standard_normal((n, 2)) for t in TARGETS}
    mix = sum(refs.values())
    ests = {t: 0.8 * r + 0.1 * mix + 0.02 * rng.standard_normal(r.shape) for t, r in refs.items()}
    track = SimpleNamespace(
        name="bench", rate=RATE, subset="test",
        targets=OrderedDict((t, SimpleNamespace(audio=a)) for t, a in refs.items()),
    )
    with threadpool_limits(1):
        start = time.perf_counter()
        expected = museval.eval_mus_track(track, ests)
        t_museval = time.perf_counter() - start
        start = time.perf_counter()
        ours = evaluate_track(refs, ests, "bench", RATE, workers=args.workers)
        t_ours = time.perf_counter() - start
    print(f"cpus={os.cpu_count()} load={os.getloadavg()[0]:.1f} seconds={args.seconds} workers={args.workers}")
    print(f"museval.eval_mus_track: {t_museval:.1f} s")
    print(f"umxmr evaluate_track:   {t_ours:.1f} s")
    print(f"ratio: {t_museval / t_ours:.2f}x  identical JSON: {ours.json == expected.json}")


if __name__ == "__main__":
    main()
