"""Which STFTs a variant's model reads, so the workflow can ask for their statistics.

Kept free of torch: rules/common.smk imports it to name the `data/stats/...` inputs of
rule train before any job runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def scaled_resolutions(settings: Mapping[str, Any]) -> list[tuple[int, int]]:
    """(n_fft, hop) of umx-mr-4's base, double (×s) and half (÷s) STFTs, s = model.scale_factor."""
    n_fft, hop = settings["stft"]["n_fft"], settings["stft"]["hop"]
    s = settings["model"].get("scale_factor")
    if s is None:
        raise ValueError("model.scale_factor: the multires architecture needs it (2 or 4); set it in the variant's row")
    if n_fft % s or hop % s:
        raise ValueError(f"stft: n_fft {n_fft} and hop {hop} must be divisible by model.scale_factor {s}")
    return [(n_fft, hop), (n_fft * s, hop * s), (n_fft // s, hop // s)]


def stft_resolutions(settings: Mapping[str, Any]) -> list[tuple[int, int]]:
    """(n_fft, hop) of every STFT whose dataset statistics initialise the model, base first.

    openunmix: the base STFT; multires: base, double, half; nsgt: none (its input
    normalisation starts at 0 and 1 and is learnt).
    """
    architecture = settings["model"]["architecture"]
    if architecture == "multires":
        return scaled_resolutions(settings)
    if architecture == "nsgt":
        return []
    return [(settings["stft"]["n_fft"], settings["stft"]["hop"])]
