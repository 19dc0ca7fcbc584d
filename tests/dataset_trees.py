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
