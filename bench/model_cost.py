"""Parameter count and forward + backward time of umx-mr-4 (s = 4, 2) and umx-mr-7 against umx-mr-0.

Published sizes (the variants of config.yaml resolved as on real data: hidden 512, three
recurrent layers, STFT 4096/1024), one training step's work: the front end on a random
stereo batch, the model, the MSE against the front end's target, backward. All variants in
one run, interleaved, median of `--reps`; ratios against umx-mr-0.

    python bench/model_cost.py [--batch 4] [--seconds 6] [--reps 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
import yaml

from umxmr.models.registry import build_frontend, build_model
from umxmr.settings import resolve_variant

VARIANTS = ["umx-mr-0", "umx-mr-4", "umx-mr-4-s2", "umx-mr-7"]
RATE = 44100.0


def step(model, frontend, mixture, source) -> None:
    loss = torch.nn.functional.mse_loss(model(frontend.inputs(mixture)), frontend.target(source))
    model.zero_grad()
    loss.backward()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())
    config["dataset"] = {"kind": "musdb18hq", "root": "unused"}  # published sizes, no demo shrink
    mixture = torch.randn(args.batch, 2, int(args.seconds * RATE))
    source = 0.5 * mixture
    setups = {}
    for name in VARIANTS:
        settings = resolve_variant(config, name)
        setups[name] = (build_model(settings, RATE).train(), build_frontend(settings, RATE, center=False))
        step(*setups[name], mixture, source)  # warm-up (and the NSGT's windows for this length)
    times = {name: [] for name in VARIANTS}
    for _ in range(args.reps):
        for name, (model, frontend) in setups.items():
            started = time.perf_counter()
            step(model, frontend, mixture, source)
            times[name].append(time.perf_counter() - started)

    base_params = sum(p.numel() for p in setups["umx-mr-0"][0].parameters())
    base_time = statistics.median(times["umx-mr-0"])
    print(f"batch {args.batch} x {args.seconds} s stereo, {args.threads} threads, median of {args.reps}")
    print("| variant | parameters | ratio | forward+backward s | ratio |\n|---|---|---|---|---|")
    for name, (model, _) in setups.items():
        params = sum(p.numel() for p in model.parameters())
        t = statistics.median(times[name])
        print(f"| {name} | {params:,} | {params / base_params:.3f} | {t:.3f} | {t / base_time:.2f} |")


if __name__ == "__main__":
    main()
