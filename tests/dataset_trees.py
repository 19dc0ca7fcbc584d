"""Tiny dataset trees on disk for the dataset tests: seconds of seeded noise, real layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

SOURCES = ("vocals", "drums", "bass", "other")
# MUSDB18-HQ's validation tracks as musdb lists them: real names, so musdb's own split applies
MUSDB_VALID = [
    "Actions - One Minute Smile",
    "Clara Berry And Wooldog - Waltz For My Victims",
    "Johnny Lokke - Promises & Lies",
    "Patrick Talbot - A Reason To Leave",
    "Triviul - Angelsaint",
    "Alexander Ross - Goodbye Bolero",
    "Fergessen - Nos Palpitants",
    "Leaf - Summerghost",
    "Skelpolu - Human Mistakes",
    "Young Griffo - Pennies",
    "ANiMAL - Rockshow",
    "James May - On The Line",
    "Meaxic - Take A Step",
    "Traffic Experiment - Sirens",
]


def noise(seed: int, frames: int, channels: int = 2, level: float = 0.1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-level, level, (frames, channels))


def write_track(
    folder: Path, seed: int, seconds: float = 1.0, files: dict[str, str] | None = None, rate: int = 44100
) -> None:
    """Four noise stems and their sum as mixture, stereo 16-bit at `rate` (file names from `files`;
    the format follows the extension: .wav or .flac)."""
    files = files or {}
    folder.mkdir(parents=True)
    frames = int(seconds * rate)
    stems = {s: np.round(noise(seed * 10 + i, frames) * 32767) / 32767 for i, s in enumerate(SOURCES)}
    stems["mixture"] = sum(stems.values())
    for stem, audio in stems.items():
        sf.write(folder / files.get(stem, f"{stem}.wav"), audio, rate, subtype="PCM_16")


def musdb_tree(root: Path, n_train: int = 2, n_valid: int = 1, n_test: int = 1, seconds: float = 1.0) -> Path:
    """A MUSDB18-HQ-shaped tree: train/ holds train tracks and real-named valid tracks, test/ test tracks."""
    names = {
        "train": [f"Train Artist - Song {i}" for i in range(n_train)] + MUSDB_VALID[:n_valid],
        "test": [f"Test Artist - Song {i}" for i in range(n_test)],
    }
    seed = 0
    for subset, tracks in names.items():
        for name in tracks:
            seed += 1
            write_track(root / subset / name, seed, seconds)
    return root


def demo_tracks(root: Path, n_valid: int, n_fft: int, hop: int):
    """The demo generator's tracks (2 training, `n_valid` validation, 1 test; 2 s each, seed 5)
    under `root`, scanned as MUSDB, and the training mixtures' input statistics at (n_fft, hop):
    the data of the training tests."""
    import torch

    from umxmr.data.demo import generate_demo
    from umxmr.data.layout import scan_musdb_layout
    from umxmr.training.stats import dataset_statistics

    torch.set_num_threads(1)
    generate_demo(root, n_train=2, n_valid=n_valid, n_test=1, duration=2.0, seed=5)
    tracks = scan_musdb_layout(root, "setup.yaml")
    assert len(tracks["valid"]) == n_valid
    return tracks, dataset_statistics(tracks["train"], n_fft, hop)
