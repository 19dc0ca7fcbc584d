"""Time and peak memory of the sliCQ (umx-mr-7) against the whole-signal NSGT (umx-mr-7-whole)
and of their training steps against umx-mr-0.

Three measurements, each case in a fresh subprocess so that its peak resident memory
(`ru_maxrss`) is its own; memory is reported as the peak minus the resident size just before
the measured work (input audio, model and transform already built), in MB:

- `transform`: forward + inverse of a `--seconds` noise track (default 240 s = 4 minutes,
  mono float32) with umx-mr-7's sliCQ (all coefficients held, as separation does) and with
  umx-mr-7-whole's whole-signal NSGT (its per-length layout built inside the measurement,
  as separation of a new track does).
- `stream`: the sliCQ forward + inverse slice chunk by slice chunk (`--chunk` slices: each
  chunk analysed, synthesised and overlap-added into the output before the next), stereo,
  1, 2, 5 and 10 minutes: the working memory must not grow with the length (±10 %); input
  and output audio are allocated before the baseline.
- `train`: one training step (front end, model, MSE, backward) of umx-mr-0, umx-mr-7 and
  umx-mr-7-whole at published sizes on a batch of `--batch` × 6 s stereo excerpts, the
  median of `--reps` steps after a warm-up.

    python bench/slicq_cost.py [transform|stream|train|all] [--minutes 1 2 5 10] [--threads 2]

Each case runs with glibc's mmap threshold fixed (MALLOC_MMAP_THRESHOLD_=131072): with the
default dynamic threshold the freed FFT buffers stay resident in the heap in amounts that
vary from run to run (measured 150-187 MB for the same stream case), which hides whether
the transform's own working memory grows.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
RATE = 44100.0


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def settings(name: str) -> dict:
    from umxmr.settings import resolve_variant

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["dataset"] = {"kind": "musdb18hq", "root": "unused"}  # published sizes
    return resolve_variant(config, name)


def case_transform(kind: str, seconds: float) -> dict:
    from umxmr.models.nsgt import NSGT
    from umxmr.models.slicq import SliCQ

    audio = torch.randn(1, int(seconds * RATE))
    scale = settings("umx-mr-7" if kind == "slicq" else "umx-mr-7-whole")["model"]["nsgt"]
    if kind == "slicq":
        transform = SliCQ(scale["scale"], scale["fmin"], scale["fmax"], scale["bins"], RATE, scale["slice_length"], scale["transition_length"])
    base = rss_mb()
    started = time.perf_counter()
    if kind == "slicq":
        coefs = transform.forward(audio)
        out = transform.inverse(coefs, audio.shape[-1])
    else:
        transform = NSGT(scale["fmin"], scale["fmax"], scale["bins_per_octave"], RATE, audio.shape[-1])
        coefs = transform.forward(audio)
        out = transform.inverse(coefs)
    elapsed, peak = time.perf_counter() - started, peak_mb()
    snr = 10 * torch.log10(audio.double().pow(2).sum() / (audio.double() - out.double()).pow(2).sum()).item()
    return {"seconds": elapsed, "memory_mb": peak - base, "coefficients": list(coefs.shape), "snr_db": snr}


def case_stream(minutes: float, chunk: int) -> dict:
    from umxmr.models.slicq import SliCQ

    scale = settings("umx-mr-7")["model"]["nsgt"]
    slicq = SliCQ(scale["scale"], scale["fmin"], scale["fmax"], scale["bins"], RATE, scale["slice_length"], scale["transition_length"])
    length = int(minutes * 60 * RATE)
    audio = torch.randn(2, length)
    nb, hop, quarter = slicq.nb_slices(length), slicq.hop, slicq.slice_length // 4
    out = torch.zeros(2, (nb + 1) * hop)
    out.fill_(0.0)  # touch its pages now (zeros may come from calloc, resident only when written)
    # warm-up on one chunk so that one-off allocations are not counted
    slicq.synthesise(slicq.analyse(torch.zeros(2, chunk, slicq.slice_length)))
    base = rss_mb()
    started = time.perf_counter()
    window = slicq.slice_window.float()
    if chunk % 2:
        raise ValueError(f"--chunk {chunk}: must be even (nsgt rotates even and odd slices differently)")
    for first in range(0, nb, chunk):
        count = min(chunk, nb - first)
        # the chunk's slices straight from the audio (nsgt's padding: half a slice of zeros before)
        start, stop = first * hop - 2 * quarter, (first + count + 1) * hop - 2 * quarter
        segment = torch.nn.functional.pad(audio[:, max(start, 0) : min(stop, length)], (max(-start, 0), max(stop - length, 0)))
        # chunks start at even slice numbers (even chunk): nsgt's rotation by parity holds within each
        slices = slicq._rotate(segment.unfold(-1, slicq.slice_length, hop) * window, quarter)
        rebuilt = slicq._rotate(slicq.synthesise(slicq.analyse(slices)), -quarter)
        halves = rebuilt.unflatten(-1, (2, hop))
        out[:, first * hop : (first + count) * hop] += halves[..., 0, :].flatten(-2)
        out[:, (first + 1) * hop : (first + count + 1) * hop] += halves[..., 1, :].flatten(-2)
    elapsed, peak = time.perf_counter() - started, peak_mb()
    result = out[:, hop : hop + length]
    snr = 10 * torch.log10(audio.double().pow(2).sum() / (audio.double() - result.double()).pow(2).sum()).item()
    return {"seconds": elapsed, "memory_mb": peak - base, "snr_db": snr}


def case_train(name: str, batch: int, reps: int) -> dict:
    from umxmr.models.registry import build_frontend, build_model

    torch.manual_seed(0)
    resolved = settings(name)
    model = build_model(resolved, RATE).train()
    frontend = build_frontend(resolved, RATE, center=False)
    mixture = torch.randn(batch, 2, int(6 * RATE))
    source = 0.5 * mixture

    def step() -> None:
        loss = torch.nn.functional.mse_loss(model(frontend.inputs(mixture)), frontend.target(source))
        model.zero_grad()
        loss.backward()

    base = rss_mb()
    step()  # warm-up (counted in the memory: a first step allocates what every step needs)
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return {"seconds": statistics.median(times), "memory_mb": peak_mb() - base, "parameters": sum(p.numel() for p in model.parameters())}


def run_case(args: list[str]) -> dict:
    # a fixed glibc mmap threshold: by default it grows with each large block freed, and the
    # heap then keeps a length-dependent amount of freed memory resident (±30 % run to run)
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"}
    out = subprocess.run([sys.executable, __file__, "_case", *args], capture_output=True, text=True, check=False, env=env)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", default="all", choices=["transform", "stream", "train", "all", "_case"])
    parser.add_argument("case", nargs="*")
    parser.add_argument("--seconds", type=float, default=240.0)
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 2, 5, 10])
    parser.add_argument("--chunk", type=int, default=16)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(ROOT))
    if args.what == "_case":
        kind, *rest = args.case
        result = {
            "transform": lambda: case_transform(rest[0], float(rest[1])),
            "stream": lambda: case_stream(float(rest[0]), int(rest[1])),
            "train": lambda: case_train(rest[0], int(rest[1]), int(rest[2])),
        }[kind]()
        print(json.dumps(result))
        return
    flags = ["--threads", str(args.threads)]
    if args.what in ("transform", "all"):
        print(f"forward + inverse, {args.seconds:g} s mono float32, {args.threads} threads")
        print("| transform | coefficients | s | peak MB | SNR dB |\n|---|---|---|---|---|")
        for kind in ["slicq", "whole"]:
            r = run_case(["transform", kind, str(args.seconds), *flags])
            print(f"| {kind} | {r.get('coefficients')} | {r.get('seconds', 0):.1f} | {r.get('memory_mb', 0):.0f} | {r.get('snr_db', 0):.0f} | {r.get('error', '')}")
    if args.what in ("stream", "all"):
        print(f"sliCQ forward + inverse streamed {args.chunk} slices at a time, stereo float32")
        print("| minutes | s | peak MB above input/output | SNR dB |\n|---|---|---|---|")
        for minutes in args.minutes:
            r = run_case(["stream", str(minutes), str(args.chunk), *flags])
            print(f"| {minutes:g} | {r.get('seconds', 0):.1f} | {r.get('memory_mb', 0):.0f} | {r.get('snr_db', 0):.0f} | {r.get('error', '')}")
    if args.what in ("train", "all"):
        print(f"training step, batch {args.batch} x 6 s stereo, median of {args.reps}")
        print("| variant | parameters | s | ratio | peak MB | ratio |\n|---|---|---|---|---|---|")
        rows = {name: run_case(["train", name, str(args.batch), str(args.reps), *flags]) for name in ["umx-mr-0", "umx-mr-7", "umx-mr-7-whole"]}
        base = rows["umx-mr-0"]
        for name, r in rows.items():
            if "error" in r:
                print(f"| {name} | {r['error']} |")
                continue
            print(f"| {name} | {r['parameters']:,} | {r['seconds']:.2f} | {r['seconds'] / base['seconds']:.2f} | {r['memory_mb']:.0f} | {r['memory_mb'] / base['memory_mb']:.2f} |")


if __name__ == "__main__":
    main()
