"""Training samples per second with data loading overlapped (DataLoader workers, pinned
memory on CUDA) vs in the main process, on generated demo tracks.

Each configuration runs the same epoch (same excerpts, same batches) of Adam steps on the
demo-size model (hidden 64, 2 BLSTM layers, 6 s stereo excerpts, batch 16); loading alone
is timed too, so the share of time spent reading audio is visible.

    PYTHONPATH=. python bench/data_loading.py [--device cpu|cuda] [--workers 0 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from umxmr.data.dataset import ExcerptDataset
from umxmr.data.demo import generate_demo
from umxmr.data.layout import scan_musdb_layout
from umxmr.models.registry import build_frontend, build_model
from umxmr.settings import PUBLISHED_DEFAULTS, deep_merge
from umxmr.training.train import _batch_loss, epoch_batches


def loader(data, batches, workers: int, pin: bool):
    return torch.utils.data.DataLoader(
        data, batch_sampler=batches, num_workers=workers, pin_memory=pin,
        generator=torch.Generator().manual_seed(0), persistent_workers=False,
    )


def run(data, batches, workers: int, device: torch.device, train: bool) -> float:
    """Samples per second over one pass of `batches` (loading only when not `train`)."""
    pin = device.type == "cuda" and workers > 0
    settings = deep_merge(PUBLISHED_DEFAULTS, {"model": {"hidden_size": 64, "nb_layers": 2}})
    torch.manual_seed(0)
    model = build_model(settings, 44100.0).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    frontend = build_frontend(settings, 44100.0, center=False).to(device)  # as train.py
    count = 0
    start = time.perf_counter()
    for x, y in loader(data, batches, workers, pin):
        x, y = x.to(device, non_blocking=pin), y.to(device, non_blocking=pin)
        if train:
            loss = _batch_loss(model, frontend, x, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        count += len(x)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tracks", type=int, default=4)
    parser.add_argument("--samples-per-track", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "demo"
        generate_demo(root, n_train=args.tracks, n_valid=1, n_test=1, duration=12.0, seed=1)
        tracks = scan_musdb_layout(root, "setup.yaml")["train"]
        data = ExcerptDataset(tracks, "vocals", seq_dur=6.0, samples_per_track=args.samples_per_track,
                              augmentations=["gain", "channelswap"], random_track_mix=True, seed=1)
        data.epoch = 1
        batches = epoch_batches(len(data), 16, seed=1, epoch=1)
        run(data, batches[:1], 0, device, train=True)  # warm-up
        for workers in args.workers:
            load = run(data, batches, workers, device, train=False)
            step = run(data, batches, workers, device, train=True)
            print(f"workers {workers} pin_memory {device.type == 'cuda' and workers > 0}: "
                  f"loading only {load:7.1f} samples/s, training {step:6.1f} samples/s")
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"{len(data)} excerpts of 6 s stereo, batch 16")


if __name__ == "__main__":
    main()
