"""What `train.valid_sdr` costs on the demo training of one target, measured two ways.

    PYTHONPATH=. python bench/valid_sdr_cost.py [--target vocals] [--repeats 2] [--threads 2]

The demo dataset of config.yaml (its seed, duration and track counts) is generated in a
temporary folder and umx-mr-0 is resolved with the demo's overrides, as the workflow trains it
(CPU, `--threads` torch threads as rule train's 2).

1. Whole trainings: `--target` trained from scratch with `train.valid_sdr` off and on (the
   default schedule: every 5 epochs and the last), in turn, `--repeats` times; wall and CPU
   seconds (the process's, every thread), their medians and the ratio on/off.
2. Paired, inside one training with the SDR every epoch: each epoch's SDR pass against the rest
   of that epoch (training steps and validation loss), wall and CPU, so that the load of a
   shared machine hits both alike; the projected cost of a schedule is its number of SDR passes
   times the median pass over the epochs times the median rest.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
import yaml

import umxmr.training.train as train
from umxmr.data.demo import generate_demo
from umxmr.data.layout import scan_musdb_layout
from umxmr.settings import deep_merge, resolve_variant, seed_settings, with_valid_sdr_window
from umxmr.training.stats import dataset_statistics
from umxmr.training.valid_sdr import VALID_SDR_EVERY, ValidSdr, sdr_due

ROOT = Path(__file__).resolve().parents[1]


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = clock()
    return wall - start[0], cpu - start[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="vocals")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING)
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    demo = config["demo"]
    base = resolve_variant(config, "umx-mr-0")  # with demo.overrides, as the workflow trains it
    base = deep_merge(seed_settings(base, base["train"]["seed"]), {"train": {"device": "cpu"}})
    epochs = base["train"]["epochs"]
    print(f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {args.threads} threads, "
          f"demo {demo['tracks']} x {demo['duration']} s, {epochs} epochs, target {args.target}")

    def settings(**over):
        return with_valid_sdr_window(deep_merge(base, {"train": over}), config)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        generate_demo(tmp / "demo", n_train=demo["tracks"]["train"], n_valid=demo["tracks"]["valid"],
                      n_test=demo["tracks"]["test"], duration=demo["duration"], seed=demo["seed"])
        tracks = scan_musdb_layout(tmp / "demo", "setup.yaml")
        stats = dataset_statistics(tracks["train"], base["stft"]["n_fft"], base["stft"]["hop"])

        def fit(name: str, cfg) -> dict:
            out = tmp / name
            return train.train_target(cfg, args.target, tracks, stats, out / "c.chkpnt", out / "m.pth", out / "m.json")

        # 1. whole trainings, off and on in turn
        runs: dict[str, list[tuple[float, float]]] = {"off": [], "on": []}
        for repeat in range(args.repeats):
            for name, cfg in (("off", settings()), ("on", settings(valid_sdr=True))):
                start = clock()
                summary = fit(f"{name}{repeat}", cfg)
                runs[name].append(since(start))
                print(f"repeat {repeat + 1}, valid_sdr {name}: {runs[name][-1][0]:.1f} s wall, {runs[name][-1][1]:.1f} s CPU, "
                      f"{summary['epochs_trained']} epochs, load {os.getloadavg()[0]:.1f}", flush=True)
        for i, kind in enumerate(("wall", "CPU")):
            off, on = (statistics.median(t[i] for t in runs[n]) for n in ("off", "on"))
            print(f"whole training, {kind}: off {off:.1f} s, on (every {VALID_SDR_EVERY}) {on:.1f} s, ratio {on / off:.3f}")
        print("recorded:", summary["valid_sdr_history"])

        # 2. paired inside one training: each epoch's SDR pass against the rest of the epoch
        marks, passes = [], []
        finish, call = train._finish_epoch, ValidSdr.__call__

        def timed_finish(*a, **k):
            marks.append(clock())
            return finish(*a, **k)

        def timed_call(self, model, valid):
            start = clock()
            result = call(self, model, valid)
            passes.append(since(start))
            return result

        train._finish_epoch, ValidSdr.__call__ = timed_finish, timed_call
        try:
            fit("every1", settings(valid_sdr=True, valid_sdr_every=1))
        finally:
            train._finish_epoch, ValidSdr.__call__ = finish, call
        # epochs 2.. lie between consecutive ends of epochs (epoch 1 holds the set-up)
        for i, kind in enumerate(("wall", "CPU")):
            sdr = [p[i] for p in passes[1:]]
            rest = [b[i] - a[i] - s for a, b, s in zip(marks, marks[1:], sdr)]
            per_pass, per_epoch = statistics.median(sdr), statistics.median(rest)
            n_default = sum(sdr_due(e, VALID_SDR_EVERY, e == epochs) for e in range(1, epochs + 1))
            print(f"paired, {kind}: SDR pass {per_pass:.3f} s (median of {len(sdr)}, {min(sdr):.3f}..{max(sdr):.3f}), "
                  f"rest of the epoch {per_epoch:.2f} s ({min(rest):.2f}..{max(rest):.2f}): "
                  f"{per_pass / per_epoch:.1%} per SDR epoch; every {VALID_SDR_EVERY} + last ({n_default} of {epochs} epochs) "
                  f"+{n_default * per_pass / (epochs * per_epoch):.1%}, every epoch +{per_pass / per_epoch:.1%}")


if __name__ == "__main__":
    main()
