"""Training samples per second read from WAV, as the training loop draws them.

    python bench/training_samples_per_second.py [--tracks 8] [--seconds 60] [--samples 256]

Builds a throwaway MUSDB-layout set of noise tracks (16-bit PCM as MUSDB18-HQ, and 32-bit
float as the converted Periphery stems), then times `ExcerptDataset` with Open-Unmix's
published recipe (6 s excerpts, 4 sources each from a random track, gain and channel-swap
augmentation) through a DataLoader with batch 16, for 0 and 2 worker processes, torch and
BLAS limited to the cores given. The files are read once before timing, so the figures are
from the page cache (what a second epoch sees), not from a cold disk. A second table times one
6 s excerpt read of a 16-bit file: libsndfile's float decoding against `read_audio` (int16
then numpy scaling, the same values). No cache is added: see bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from umxmr.data.audio import read_audio
from umxmr.data.dataset import ExcerptDataset
from umxmr.data.layout import scan_training_only
from umxmr.settings import PUBLISHED_DEFAULTS


def make_tree(root: Path, tracks: int, seconds: float, subtype: str) -> None:
    rng = np.random.default_rng(0)
    for i in range(tracks):
        folder = root / "train" / f"track {i:02d}"
        folder.mkdir(parents=True)
        stems = {s: rng.uniform(-0.2, 0.2, (int(seconds * 44100), 2)) for s in ("vocals", "drums", "bass", "other")}
        stems["mixture"] = sum(stems.values())
        for name, audio in stems.items():
            sf.write(folder / f"{name}.wav", audio, 44100, subtype=subtype)


def samples_per_second(root: Path, samples: int, workers: int) -> float:
    cfg = PUBLISHED_DEFAULTS["train"]
    tracks = scan_training_only(root)["train"]
    data = ExcerptDataset(
        tracks, "vocals", cfg["seq_dur"], cfg["samples_per_track"], cfg["source_augmentations"], True, cfg["seed"]
    )
    loader = torch.utils.data.DataLoader(data, batch_size=cfg["batch_size"], shuffle=True, num_workers=workers)
    for path in root.rglob("*.wav"):  # warm the page cache
        path.read_bytes()
    done, started = 0, time.perf_counter()
    for x, _ in loader:
        done += x.shape[0]
        if done >= samples:
            break
    return done / (time.perf_counter() - started)


def excerpt_read_ms(path: Path, reads: int = 100) -> dict[str, float]:
    """Milliseconds per 6 s excerpt read at random offsets, two decoders."""
    frames, total = int(6.0 * 44100), sf.info(str(path)).frames
    starts = np.random.default_rng(0).integers(0, total - frames, reads)
    readers = {
        "libsndfile float32": lambda s: sf.read(str(path), start=s, frames=frames, dtype="float32", always_2d=True),
        "read_audio (int16 + numpy)": lambda s: read_audio(path, start=s, frames=frames),
    }
    times = {}
    for name, read in readers.items():
        started = time.perf_counter()
        for start in starts:
            read(int(start))
        times[name] = (time.perf_counter() - started) / reads * 1000
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--samples", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cpu = next((line.split(":")[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"# {os.cpu_count()} cores visible, torch threads {args.threads}, {cpu}, {platform.python_version()}")
    print("| WAV subtype | DataLoader workers | samples/s |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for subtype in ("PCM_16", "FLOAT"):
            root = Path(tmp) / subtype
            make_tree(root, args.tracks, args.seconds, subtype)
            for workers in (0, 2):
                rate = samples_per_second(root, args.samples, workers)
                print(f"| {subtype} | {workers} | {rate:.1f} |", flush=True)
        print("\n| 6 s excerpt of a 16-bit WAV | ms per read |\n|---|---|")
        for name, ms in excerpt_read_ms(Path(tmp) / "PCM_16" / "train" / "track 00" / "vocals.wav").items():
            print(f"| {name} | {ms:.2f} |")


if __name__ == "__main__":
    main()
