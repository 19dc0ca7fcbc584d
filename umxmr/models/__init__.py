"""Model registry: `model.architecture` in the config → a builder.

A builder takes the resolved settings of a variant, the sample rate and the dataset
statistics, and returns an `nn.Module` mapping a mixture magnitude
`(nb_samples, nb_channels, nb_bins, nb_frames)` to the target magnitude of the same shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from torch import nn

from umxmr.models.openunmix import OpenUnmix
from umxmr.transforms import bandwidth_to_max_bin

Builder = Callable[[Mapping[str, Any], float, np.ndarray | None, np.ndarray | None], nn.Module]


def build_openunmix(
    settings: Mapping[str, Any], rate: float, mean: np.ndarray | None, scale: np.ndarray | None
) -> OpenUnmix:
    model, stft = settings["model"], settings["stft"]
    return OpenUnmix(
        nb_bins=stft["n_fft"] // 2 + 1,
        nb_channels=model["nb_channels"],
        hidden_size=model["hidden_size"],
        nb_layers=model["nb_layers"],
        unidirectional=model["unidirectional"],
        max_bin=bandwidth_to_max_bin(rate, stft["n_fft"], model["bandwidth"]),
        input_mean=mean,
        input_scale=scale,
        rnn=model["rnn"],
        rnn_dropout=model["rnn_dropout"],
        act_before_bn=model["act_before_bn"],
        bn3=model["bn3"],
        output_mean_init=model["output_mean_init"],
        first_layer=model["first_layer"],
        output_activation=model["output_activation"],
    )


ARCHITECTURES: dict[str, Builder] = {"openunmix": build_openunmix}


def build_model(
    settings: Mapping[str, Any],
    rate: float,
    mean: np.ndarray | None = None,
    scale: np.ndarray | None = None,
) -> nn.Module:
    """The model a variant's settings describe, initialised with dataset statistics."""
    name = settings["model"]["architecture"]
    if name not in ARCHITECTURES:
        raise ValueError(f"model.architecture: {name!r} is not one of {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[name](settings, rate, mean, scale)
