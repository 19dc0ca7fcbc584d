"""Input statistics that initialise a model's `input_mean`/`input_scale`.

As open-unmix's `get_statistics`: a StandardScaler fitted over the frames of the mono
(channel-averaged) magnitude STFT of every full training mixture, `center=False`, with the
standard deviation floored at 1e-4 × its maximum so silent bins do not explode.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import sklearn.preprocessing
import torch
from tqdm import tqdm

from umxmr.atomic import atomic_path
from umxmr.data.audio import read_audio
from umxmr.data.layout import TrackInfo
from umxmr.models.transforms import STFT, magnitude


def dataset_statistics(tracks: Iterable[TrackInfo], n_fft: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and floored std per STFT bin of the training mixtures."""
    stft = STFT(n_fft=n_fft, hop=hop, center=False)
    scaler = sklearn.preprocessing.StandardScaler()
    for track in tqdm(list(tracks), desc="dataset statistics", unit="track", mininterval=5):
        audio = torch.from_numpy(read_audio(track.path("mixture")).T.copy())
        with torch.no_grad():
            # (1, 1, nb_bins, nb_frames) -> (nb_frames, nb_bins)
            mag = magnitude(stft(audio[None]), mono=True)[0, 0].T
        scaler.partial_fit(mag.numpy())
    std = np.maximum(scaler.scale_, 1e-4 * np.max(scaler.scale_))
    return scaler.mean_, std


def save_statistics(path: Path, mean: np.ndarray, std: np.ndarray) -> None:
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, mean=mean, std=std)


def load_statistics(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as stats:
        return stats["mean"], stats["std"]
