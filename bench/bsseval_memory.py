"""Full BSSEval v4: umxmr.evaluation.bsseval against museval.evaluate, time and peak memory.

Each side runs in its own child process (twice: once timed, once with its memory sampled) on
the same generated 4-target stereo track of ``--seconds`` (one BLAS thread per process; ours with ``--workers`` forked workers, the
evaluate rule's ``threads``). Memory is the peak, sampled every 50 ms, of the sum of the
proportional set sizes (PSS, /proc/PID/smaps_rollup) of the child and all its descendants:
copy-on-write pages shared with forked workers count once, as in the kernel's cgroup peak.
Every child gets an address-space cap (``--cap-gb``, default 8) so that the shared machine
is safe. The numbers are checked to be identical (all four metrics, NaN frames included).

    PYTHONPATH=$PWD python bench/bsseval_memory.py [--seconds 60] [--workers 2] [--cap-gb 8]
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from peak_memory import tree_pss_mb

CHILD = r"""
import pickle, sys, time
import numpy as np
from threadpoolctl import threadpool_limits
sys.path.insert(0, {bench!r})
from sdr_speed import generated_track, RATE
which, seconds, workers, out = {which!r}, {seconds!r}, {workers!r}, {out!r}
refs, ests = generated_track(seconds, 0)
from umxmr.evaluation.museval_import import import_museval
museval = import_museval()
from umxmr.evaluation.bsseval import bss_eval_v4
import resource
def _cpu():
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime
with threadpool_limits(1):
    cpu0 = _cpu()
    start = time.perf_counter()
    if which == "museval":
        scores = museval.evaluate(refs, ests, win=RATE, hop=RATE)
    else:
        scores = bss_eval_v4(refs, ests, win=RATE, hop=RATE, workers=workers)
    wall = time.perf_counter() - start
    print(f"  {{which}}: {{wall:.1f}} s wall, {{_cpu() - cpu0:.1f}} s CPU (workers included)", flush=True)
pickle.dump((wall, [np.asarray(s) for s in scores]), open(out, "wb"))
"""


def run(which: str, seconds: float, workers: int, cap_gb: float, sample: bool) -> tuple[float, float, list]:
    """(wall seconds, peak PSS MB or 0 when not `sample`d, scores) of one child process."""
    out = tempfile.mktemp(suffix=".pkl")
    code = CHILD.format(bench=str(Path(__file__).parent), which=which, seconds=seconds, workers=workers, out=out)
    cap = int(cap_gb * 2**30)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = subprocess.Popen([sys.executable, "-c", code], preexec_fn=limit)
    peak = 0.0
    while sample and child.poll() is None:
        peak = max(peak, tree_pss_mb(child.pid))
        time.sleep(0.05)
    child.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"  {which}: CPU of the whole child (import and data generation included, workers included): "
          f"{after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime:.1f} s")
    if child.returncode:
        raise SystemExit(f"{which} failed (exit {child.returncode}; over the {cap_gb} GB cap?)")
    with open(out, "rb") as f:
        wall, scores = pickle.load(f)
    os.remove(out)
    return wall, peak, scores


def main() -> None:
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cap-gb", type=float, default=8.0)
    args = parser.parse_args()
    print(f"cpus={os.cpu_count()} load={os.getloadavg()[0]:.1f} seconds={args.seconds} workers={args.workers}")
    # time and memory in separate runs: reading smaps_rollup of large processes every 50 ms
    # takes CPU from the measured processes (more from ours, three processes on two cores)
    t_mus, _, expected = run("museval", args.seconds, 1, args.cap_gb, sample=False)
    _, m_mus, _ = run("museval", args.seconds, 1, args.cap_gb, sample=True)
    print(f"museval.evaluate:        {t_mus:7.1f} s, peak PSS {m_mus:7.0f} MB")
    t_our, _, ours = run("ours", args.seconds, args.workers, args.cap_gb, sample=False)
    _, m_our, _ = run("ours", args.seconds, args.workers, args.cap_gb, sample=True)
    print(f"umxmr bss_eval_v4 (x{args.workers}): {t_our:7.1f} s, peak PSS {m_our:7.0f} MB")
    same = all(np.array_equal(a, b, equal_nan=True) for a, b in zip(ours, expected))
    print(f"time ratio {t_mus / t_our:.2f}x, memory ratio {m_our / m_mus:.2f}; bit-identical: {same}")
    print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
