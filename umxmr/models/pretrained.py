"""Published Open-Unmix weights (umxhq, umx, umxl) read into our `OpenUnmix`, strictly.

The URLs, file names and sizes are those of openunmix 1.3.0's loaders (`openunmix/__init__.py`:
`umxhq_spec`, `umx_spec`, `umxl_spec`): STFT 4096/1024, 44.1 kHz stereo, bandwidth 16 kHz
(`max_bin` 1487), 3 bidirectional LSTM layers, hidden size 512 (umxl: 1024). `import openunmix`
imports torchaudio, which this torch cannot have, so the state dicts are read directly: through
torch hub's loader and cache (`torch.hub.load_state_dict_from_url`, files in
`<torch.hub.get_dir()>/checkpoints/`, i.e. `$TORCH_HOME/hub/checkpoints/`; a download checks
the sha256 prefix in the file name), or from a folder of the same files (`weights:`, for
clusters without internet). openunmix itself loads with `strict=False`; here every key and
shape must match, so a wrong file or layout fails with the names of the keys that differ.

Licences: umxl's weights are CC BY-NC-SA 4.0 (non-commercial, share-alike; Zenodo record
5069601); for umxhq and umx see their Zenodo records (3370489, 3370486). All three were trained on MUSDB18's (or MUSDB18-HQ's)
training set (umxl on a larger private set), so their scores mean something only on MUSDB's
test set.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import urllib.error
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from torch import Tensor

from umxmr.atomic import atomic_path, write_text
from umxmr.data.audio import RATE
from umxmr.models.openunmix import OpenUnmix, from_openunmix_state_dict
from umxmr.models.registry import build_model
from umxmr.models.transforms import bandwidth_to_max_bin
from umxmr.settings import PUBLISHED_DEFAULTS

__all__ = ["PUBLISHED_MODELS", "PretrainedError", "published_file", "published_state_dict", "published_settings", "load_published"]

# openunmix 1.3.0, openunmix/__init__.py (umxhq_spec, umx_spec, umxl_spec)
PUBLISHED_MODELS: dict[str, dict[str, Any]] = {
    "umxhq": {
        "urls": {
            "bass": "https://zenodo.org/records/3370489/files/bass-8d85a5bd.pth",
            "drums": "https://zenodo.org/records/3370489/files/drums-9619578f.pth",
            "other": "https://zenodo.org/records/3370489/files/other-b52fbbf7.pth",
            "vocals": "https://zenodo.org/records/3370489/files/vocals-b62c91ce.pth",
        },
        "hidden_size": 512,
        "trained_on": "MUSDB18-HQ train",
        "license": "see Zenodo record 3370489",
    },
    "umx": {
        "urls": {
            "bass": "https://zenodo.org/records/3370486/files/bass-646024d3.pth",
            "drums": "https://zenodo.org/records/3370486/files/drums-5a48008b.pth",
            "other": "https://zenodo.org/records/3370486/files/other-f8e132cc.pth",
            "vocals": "https://zenodo.org/records/3370486/files/vocals-c8df74a5.pth",
        },
        "hidden_size": 512,
        "trained_on": "MUSDB18 train (compressed)",
        "license": "see Zenodo record 3370486",
    },
    "umxl": {
        "urls": {
            "bass": "https://zenodo.org/records/5069601/files/bass-2ca1ce51.pth",
            "drums": "https://zenodo.org/records/5069601/files/drums-69e0ebd4.pth",
            "other": "https://zenodo.org/records/5069601/files/other-c8c5b3e6.pth",
            "vocals": "https://zenodo.org/records/5069601/files/vocals-bccbd9aa.pth",
        },
        "hidden_size": 1024,
        "trained_on": "a private set of stems (MUSDB18 test not included)",
        "license": "CC BY-NC-SA 4.0",
    },
}
STFT = {"n_fft": 4096, "hop": 1024}
BANDWIDTH = 16000
NB_CHANNELS = 2
NB_LAYERS = 3


class PretrainedError(ValueError):
    """A published model that cannot be found or does not have the published layout."""


def _urls(name: str) -> dict[str, str]:
    if name not in PUBLISHED_MODELS:
        raise PretrainedError(f"pretrained: {name!r} is not one of {', '.join(PUBLISHED_MODELS)}")
    return PUBLISHED_MODELS[name]["urls"]


def published_file(name: str, target: str) -> str:
    """The weight file name of a published target model (as on Zenodo and in torch hub's cache)."""
    urls = _urls(name)
    if target not in urls:
        raise PretrainedError(f"pretrained {name}: no model for target {target!r}; it has {', '.join(urls)}")
    return Path(urlparse(urls[target]).path).name


def published_state_dict(name: str, target: str, weights: Path | None = None) -> tuple[dict[str, Tensor], Path]:
    """The published state dict (openunmix's key names) of one target, and the file it came from.

    ``weights``: a folder holding the published files under their own names (or as
    `<target>.pth`); without it, torch hub's loader and cache (downloads once, checking the
    sha256 prefix of the file name). Raises PretrainedError naming the file when it is missing.
    """
    file_name = published_file(name, target)
    if weights is not None:
        folder = Path(weights)
        for candidate in (folder / file_name, folder / f"{target}.pth"):
            if candidate.is_file():
                return torch.load(candidate, map_location="cpu", weights_only=True), candidate
        raise PretrainedError(
            f"weights: {folder} holds neither {file_name} nor {target}.pth; download "
            f"{PUBLISHED_MODELS[name]['urls'][target]} into that folder, or leave `weights` out to use torch hub's cache"
        )
    cache = Path(torch.hub.get_dir()) / "checkpoints"
    url = PUBLISHED_MODELS[name]["urls"][target]
    try:
        state = torch.hub.load_state_dict_from_url(url, model_dir=str(cache), map_location="cpu", check_hash=True, weights_only=True)
    except (urllib.error.URLError, OSError) as err:
        raise PretrainedError(
            f"pretrained {name}: {file_name} is not in torch hub's cache ({cache}) and cannot be downloaded from {url} "
            f"({err}); without internet, copy the files into a folder and set the variant's `weights` to it"
        ) from err
    return state, cache / file_name


def published_settings(name: str, state: Mapping[str, Tensor]) -> dict[str, Any]:
    """Settings of our `OpenUnmix` equal to the published model: openunmix's published values,
    the hidden size read off the weights (a warning when it is not the loader's: not the
    published file, e.g. a small planted model in the tests); every shape is then checked
    strictly when the state dict is loaded."""
    _urls(name)
    settings = copy.deepcopy(PUBLISHED_DEFAULTS)
    settings["stft"].update(STFT)
    fc1 = state.get("fc1.weight")
    hidden = int(fc1.shape[0]) if fc1 is not None else PUBLISHED_MODELS[name]["hidden_size"]
    if hidden != PUBLISHED_MODELS[name]["hidden_size"]:
        logging.getLogger(__name__).warning(
            "pretrained %s: hidden size %d in the weights, the published model has %d: these are not the published weights",
            name, hidden, PUBLISHED_MODELS[name]["hidden_size"],
        )
    settings["model"]["hidden_size"] = hidden
    settings["model"].update(nb_layers=NB_LAYERS, unidirectional=False, bandwidth=BANDWIDTH, nb_channels=NB_CHANNELS)
    settings["train"]["epochs"] = 0
    return settings


def load_published(name: str, target: str, weights: Path | None = None) -> tuple[OpenUnmix, dict[str, Any], Path]:
    """Our `OpenUnmix` holding the published weights of ``target``, its settings and the file.

    Strict, key by key and shape by shape: a key missing on either side or a shape that
    differs raises PretrainedError listing them (openunmix's own loader would skip them).
    """
    state, path = published_state_dict(name, target, weights)
    settings = published_settings(name, state)
    model = build_model(settings, RATE)
    ours = from_openunmix_state_dict(state)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(ours))
    unexpected = sorted(set(ours) - set(expected))
    wrong = sorted(k for k in set(expected) & set(ours) if tuple(expected[k].shape) != tuple(ours[k].shape))
    if missing or unexpected or wrong:
        raise PretrainedError(
            f"{path}: not the published {name} layout for {target} (STFT 4096, max_bin "
            f"{bandwidth_to_max_bin(RATE, STFT['n_fft'], BANDWIDTH)}, 3 BLSTM layers): missing {missing}, "
            f"unexpected {unexpected}, wrong shape "
            f"{[(k, tuple(ours[k].shape), tuple(expected[k].shape)) for k in wrong]}"
        )
    model.load_state_dict(ours, strict=True)
    return model.eval(), settings, path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_published(name: str, target: str, weights: Path | None, out_pth: Path, out_json: Path) -> None:
    """`results/{variant}/{target}.pth/.json` of a published model, as a trained variant has them:
    our state dict (loaded strictly) and a JSON whose `args` rebuild the model, with where the
    weights came from (URL, file, sha256, licence) under `pretrained`. Written atomically."""
    model, settings, path = load_published(name, target, weights)
    summary = {
        "args": settings,
        "pretrained": {
            "name": name,
            "target": target,
            "url": PUBLISHED_MODELS[name]["urls"][target],
            "file": str(path),
            "sha256": file_sha256(path),
            "license": PUBLISHED_MODELS[name]["license"],
            "trained_on": PUBLISHED_MODELS[name]["trained_on"],
            "source": "openunmix 1.3.0, openunmix/__init__.py",
        },
        "selected_seed": f"published {name}",
        "epochs_trained": 0,
        "best_loss": None,
        "train_loss_history": [],
        "valid_loss_history": [],
    }
    with atomic_path(Path(out_pth)) as tmp:
        torch.save(model.state_dict(), tmp)
    write_text(Path(out_json), json.dumps(summary, indent=2, sort_keys=True) + "\n")
