"""Peak memory of separation (a variant at published size) and the oracle against track length.

Each measurement runs in a fresh subprocess and reports the kernel's peak resident set of
that process (`resource.getrusage(RUSAGE_SELF).ru_maxrss`), not a sampled figure. The
child generates stereo 44.1 kHz audio of the given length (noise shaped like music is not
needed: memory does not depend on the content), writes it to a FLOAT WAV, then:

- `blocked`: `umxmr.separation.separate.separate_blocks` with four models of `--variant`
  (default umx-mr-0) at published size: the variant's real-data settings from config.yaml
  (no demo overrides; umx-mr-0: hidden 512, 3 BLSTM layers, n_fft 4096, hop 1024), random
  weights, the variant's front end, niter 1, wiener_win_len 300, each estimate written as
  it comes (`write_audio_blocks`), as the `separate` rule does;
- `whole`: the same models through `separate_whole_track` (the path before blocks);
- `oracle`: `umxmr.oracle.estimates.phase_mix_blocks` from the stems' files to WAVs, as
  the `oracle_estimates` rule does (four sources);
- `baseline`: imports and models only (the fixed cost).

Usage (repository root, venv, PYTHONPATH=$PWD):
    python bench/separation_memory.py --kinds baseline blocked --seconds 60 120 240
    python bench/separation_memory.py --variant umx-mr-4 --kinds blocked --seconds 60 240
Prints kind × length → peak MB, wall time, and the growth in MB per second of audio
(least squares over the lengths measured).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = ["vocals", "drums", "bass", "other"]
RATE = 44100


def variant_settings(variant: str) -> dict:
    """A variant's settings on real data (config.yaml's, without the demo's overrides)."""
    import yaml

    from umxmr.settings import resolve_variant

    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())
    return resolve_variant({**config, "dataset": {**config["dataset"], "kind": "musdb"}}, variant)


def child(kind: str, seconds: float, variant: str = "umx-mr-0") -> None:
    import numpy as np
    import soundfile as sf
    import torch

    from umxmr.data.audio import read_audio, write_audio_blocks
    from umxmr.models.registry import build_frontend, build_model
    from umxmr.oracle import estimates as oracle
    from umxmr.separation import separate as sep

    torch.set_num_threads(2)
    tmp = Path(tempfile.mkdtemp(prefix="sepmem-"))
    n = int(seconds * RATE)
    rng = np.random.default_rng(0)
    names = ["mixture", *TARGETS] if kind == "oracle" else ["mixture"]
    for name in names:  # written in pieces so the generator itself stays small
        with sf.SoundFile(str(tmp / f"{name}.wav"), "w", RATE, 2, subtype="FLOAT", format="WAV") as f:
            for start in range(0, n, RATE * 10):
                f.write((0.1 * rng.standard_normal((min(RATE * 10, n - start), 2))).astype(np.float32))
    outputs = [tmp / "out" / f"{t}.wav" for t in TARGETS]
    start = time.perf_counter()
    if kind == "oracle":
        from contextlib import ExitStack

        with ExitStack() as stack:
            readers = {name: oracle._FileReader(tmp / f"{name}.wav", stack) for name in names}
            mixture = readers.pop("mixture")
            write_audio_blocks(outputs, TARGETS, oracle.phase_mix_blocks(mixture, readers, mixture.frames), RATE)
    else:
        torch.manual_seed(0)
        settings = variant_settings(variant)
        models = {t: build_model(settings, float(RATE)).eval() for t in TARGETS}
        frontends = {t: build_frontend(settings, float(RATE), center=True) for t in TARGETS}
        n_fft, hop = settings["stft"]["n_fft"], settings["stft"]["hop"]
        if kind != "baseline":
            mixture = read_audio(tmp / "mixture.wav")
            if kind == "blocked":
                blocks = sep.separate_blocks(mixture, models, n_fft, hop, niter=1, wiener_win_len=300, frontends=frontends)
            else:
                blocks = iter([sep.separate_whole_track(mixture, models, n_fft, hop, niter=1, wiener_win_len=300, frontends=frontends)])
            del mixture
            write_audio_blocks(outputs, TARGETS, blocks, RATE)
    wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(json.dumps({"kind": kind, "variant": variant, "seconds": seconds, "peak_mb": peak_mb, "wall_s": wall}))
    shutil.rmtree(tmp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="+", default=["baseline", "blocked"], choices=["baseline", "blocked", "whole", "oracle"])
    parser.add_argument("--seconds", nargs="+", type=float, default=[60, 120, 240])
    parser.add_argument("--variant", default="umx-mr-0", help="a variant of config.yaml, at its real-data settings (default umx-mr-0)")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], float(args.child[1]), args.variant)
        return
    rows = []
    for kind in args.kinds:
        for seconds in [0.0] if kind == "baseline" else args.seconds:
            command = [sys.executable, __file__, "--child", kind, str(seconds or 10), "--variant", args.variant]
            run = subprocess.run(command, capture_output=True, text=True, check=False)
            if run.returncode:
                print(f"{kind} {seconds:.0f} s: failed (rc {run.returncode})\n{run.stderr[-2000:]}")
                continue
            rows.append(json.loads(run.stdout.strip().splitlines()[-1]))
            row = rows[-1]
            print(f"{args.variant} {kind:8s} {row['seconds']:6.0f} s  peak {row['peak_mb']:8.0f} MB  wall {row['wall_s']:7.1f} s", flush=True)
    for kind in args.kinds:
        pts = [(r["seconds"], r["peak_mb"]) for r in rows if r["kind"] == kind]
        if len(pts) > 1:
            xs, ys = zip(*pts)
            mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
            slope = sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x in xs)
            print(f"{kind}: {slope:.2f} MB per second of audio; at 600 s about {my + slope * (600 - mx):.0f} MB")


if __name__ == "__main__":
    main()
