"""Trained models exported in Open-Unmix's own format (`results/{variant}/openunmix/`).

openunmix 1.3.0's `openunmix.utils.load_target_models` (used by `load_separator` and its CLI
`umx --model <folder>`) reads `<target>.json` (`args.nfft`, `args.nb_channels`,
`args.hidden_size`) and the first `<target>*.pth`, builds `openunmix.model.OpenUnmix` with
everything else at its defaults (3 bidirectional LSTM layers, batch norm after the activation,
bn3, relu output; `max_bin` from the weights) and loads with `strict=False`. So only variants
whose layout that fixed model represents can be exported: Open-Unmix itself with any STFT,
hidden size or dropout (umx-mr-0, umx-mr-6, umx-nw-nodropout, umx-nw-stft8192 at 3 layers).
The others are refused with the reason; the state dict is checked key by key and shape by
shape by the tests, since openunmix's loader would skip a wrong key silently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from umxmr.atomic import atomic_path, write_text

__all__ = ["ExportError", "export_refusal", "to_openunmix_state_dict", "openunmix_args", "export_openunmix"]

# what openunmix's loader builds, whatever the JSON says (openunmix/utils.py, load_target_models)
OPENUNMIX_FIXED = {
    "architecture": ("openunmix", "a different model class"),
    "rnn": ("lstm", "a GRU core"),
    "nb_layers": (3, "a number of recurrent layers other than 3"),
    "unidirectional": (False, "a unidirectional core"),
    "act_before_bn": (False, "activation before batch norm"),
    "bn3": (True, "no bn3"),
    "first_layer": ("linear", "a convolutional first layer"),
    "output_activation": ("relu", "a sigmoid output"),
}


class ExportError(ValueError):
    """A variant whose models openunmix's fixed model cannot represent."""


def export_refusal(settings: Mapping[str, Any]) -> str | None:
    """Why a model with these resolved settings cannot be loaded by openunmix 1.3.0, or None."""
    model = settings["model"]
    reasons = [f"{what} (model.{key}: {model.get(key)!r}, openunmix builds {value!r})"
               for key, (value, what) in OPENUNMIX_FIXED.items() if model.get(key, value) != value]
    if settings["stft"].get("from_oracle") is not None:
        reasons.append("per-target STFTs (stft.from_oracle): openunmix's Separator has one STFT for all targets")
    if not reasons:
        return None
    return ("openunmix.utils.load_target_models always builds a 3-layer bidirectional LSTM Open-Unmix "
            "(batch norm after tanh/relu, bn3, relu output) and cannot represent " + "; ".join(reasons))


def to_openunmix_state_dict(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Our state dict in openunmix's key names (`rnn.*` → `lstm.*`)."""
    return {("lstm." + k[len("rnn.") :] if k.startswith("rnn.") else k): v for k, v in state.items()}


def openunmix_args(settings: Mapping[str, Any], target: str) -> dict[str, Any]:
    """`args` of an openunmix training JSON (scripts/train.py's argument names) for these settings."""
    stft, model, train = settings["stft"], settings["model"], settings["train"]
    return {
        "target": target,
        "nfft": stft["n_fft"],
        "nhop": stft["hop"],
        "hidden_size": model["hidden_size"],
        "nb_channels": model["nb_channels"],
        "bandwidth": model["bandwidth"],
        "unidirectional": model["unidirectional"],
        "lr": train["lr"],
        "weight_decay": train["weight_decay"],
        "batch_size": train["batch_size"],
        "seq_dur": train["seq_dur"],
        "samples_per_track": train["samples_per_track"],
        "seed": train["seed"],
    }


def export_openunmix(
    summaries: Sequence[Path], weights: Sequence[Path], targets: Sequence[str], separator: Mapping[str, Any], out_dir: Path
) -> None:
    """Write `<target>.json`, `<target>.pth` and `separator.json` in openunmix's format to `out_dir`.

    ``summaries``/``weights``: our model JSONs and state dicts, in the order of ``targets``;
    ``separator``: our separator.json (its nfft, nhop, sample_rate, nb_channels). Raises
    ExportError with the reason when a model's layout is not openunmix's.
    """
    out_dir = Path(out_dir)
    for summary_path, weights_path, target in zip(summaries, weights, targets):
        summary = json.loads(Path(summary_path).read_text())
        settings = summary["args"]
        reason = export_refusal(settings)
        if reason:
            raise ExportError(f"{summary_path}: cannot export to openunmix: {reason}")
        state = to_openunmix_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
        record = {key: summary[key] for key in ("best_loss", "epochs_trained", "train_loss_history",
                                                "valid_loss_history", "train_time_history", "num_bad_epochs", "commit")
                  if key in summary}
        record["args"] = openunmix_args(settings, target)
        record["exported_from"] = {"summary": str(summary_path), "weights": str(weights_path), "settings": settings}
        with atomic_path(out_dir / f"{target}.pth") as tmp:
            torch.save(state, tmp)
        write_text(out_dir / f"{target}.json", json.dumps(record, indent=2, sort_keys=True) + "\n")
    conf = {key: separator[key] for key in ("nfft", "nhop", "sample_rate", "nb_channels")} | {"targets": list(targets)}
    write_text(out_dir / "separator.json", json.dumps(conf, indent=2, sort_keys=True) + "\n")
