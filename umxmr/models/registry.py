"""Model registry: `model.architecture` in the config → a builder and a front end.

A builder takes the resolved settings of a variant, the sample rate and the dataset
statistics (base STFT's mean and scale, then those of the further STFTs that
`umxmr.resolutions.stft_resolutions` lists), and returns an `nn.Module` mapping `frontend.inputs(mixture)` to a target estimate
like `frontend.target(source)`. For `openunmix` that is a mixture magnitude
`(nb_samples, nb_channels, nb_bins, nb_frames)` to the target magnitude of the same shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from torch import nn

from umxmr.models.frontends import FRONTENDS, MultiStftFrontend, NsgtFrontend, SlicedNsgtFrontend, StftFrontend
from umxmr.models.multires import MultiResUnmix
from umxmr.models.nsgt_unmix import NsgtUnmix
from umxmr.models.openunmix import OpenUnmix
from umxmr.resolutions import scaled_resolutions
from umxmr.models.transforms import bandwidth_to_max_bin

Stats = tuple[np.ndarray, np.ndarray]
Builder = Callable[[Mapping[str, Any], float, np.ndarray | None, np.ndarray | None, Sequence[Stats]], nn.Module]
Frontend = StftFrontend | MultiStftFrontend | NsgtFrontend | SlicedNsgtFrontend


def _openunmix_args(settings: Mapping[str, Any], rate: float, mean: np.ndarray | None, scale: np.ndarray | None) -> dict[str, Any]:
    model, stft = settings["model"], settings["stft"]
    return dict(
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


def build_openunmix(
    settings: Mapping[str, Any], rate: float, mean: np.ndarray | None, scale: np.ndarray | None, extra_stats: Sequence[Stats] = ()
) -> OpenUnmix:
    return OpenUnmix(**_openunmix_args(settings, rate, mean, scale))


def build_multires(
    settings: Mapping[str, Any], rate: float, mean: np.ndarray | None, scale: np.ndarray | None, extra_stats: Sequence[Stats] = ()
) -> MultiResUnmix:
    (_, _), (n_double, _), (n_half, _) = scaled_resolutions(settings)
    stats_double, stats_half = list(extra_stats) or [None, None]
    return MultiResUnmix(
        scale_factor=settings["model"]["scale_factor"],
        nb_bins_double=n_double // 2 + 1,
        nb_bins_half=n_half // 2 + 1,
        stats_double=stats_double,
        stats_half=stats_half,
        **_openunmix_args(settings, rate, mean, scale),
    )


def build_nsgt(
    settings: Mapping[str, Any], rate: float, mean: np.ndarray | None, scale: np.ndarray | None, extra_stats: Sequence[Stats] = ()
) -> NsgtUnmix:
    frontend = NsgtFrontend.from_settings(settings, rate, center=True)
    args = _openunmix_args(settings, rate, mean, scale)
    # every NSGT band up to model.nsgt.fmax, learnable input normalisation from 0 and 1
    # (whole-signal and sliced alike: no dataset statistics)
    args.update(nb_bins=frontend.nb_bins(), max_bin=None)
    return NsgtUnmix(frame_pool=settings["model"]["nsgt"]["frame_pool"], **args)


ARCHITECTURES: dict[str, Builder] = {"openunmix": build_openunmix, "multires": build_multires, "nsgt": build_nsgt}


def build_model(
    settings: Mapping[str, Any],
    rate: float,
    mean: np.ndarray | None = None,
    scale: np.ndarray | None = None,
    extra_stats: Sequence[Stats] = (),
) -> nn.Module:
    """The model a variant's settings describe, initialised with dataset statistics.

    `mean`/`scale` are the base STFT's; `extra_stats` those of the further STFTs
    `umxmr.resolutions.stft_resolutions` lists (umx-mr-4's double and half resolutions), in that order.
    """
    return ARCHITECTURES[_architecture(settings)](settings, rate, mean, scale, extra_stats)


def _architecture(settings: Mapping[str, Any]) -> str:
    name = settings["model"]["architecture"]
    if name not in ARCHITECTURES:
        raise ValueError(f"model.architecture: {name!r} is not one of {', '.join(ARCHITECTURES)}")
    return name


def build_frontend(settings: Mapping[str, Any], rate: float, center: bool) -> Frontend:
    """The front end of a variant's model; `center` as the base STFT of training (False) or separation (True)."""
    return FRONTENDS[_architecture(settings)].from_settings(settings, rate, center)

