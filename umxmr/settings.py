"""Resolve a variant row of config.yaml into the full settings that train and separate it.

Every variant is data: Open-Unmix's published values, overlaid by the config's `defaults`,
the demo's shrink (only on the demo dataset), the variant's `base` rows and finally its
own row. The merged result is stored in every result JSON, so each number says exactly
what produced it.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from typing import Any

# Open-Unmix as published (openunmix/model.py and scripts/train.py, v1.3.0).
PUBLISHED_DEFAULTS: dict[str, dict[str, Any]] = {
    "stft": {"n_fft": 4096, "hop": 1024},
    "model": {
        "architecture": "openunmix",
        "hidden_size": 512,
        "nb_layers": 3,
        "unidirectional": False,
        "bandwidth": 16000,
        "nb_channels": 2,
        "rnn": "lstm",
        "rnn_dropout": 0.4,
        "act_before_bn": False,
        "bn3": True,
        "output_mean_init": 1.0,
        "first_layer": "linear",
        "output_activation": "relu",
    },
    "train": {
        "epochs": 1000,
        "batch_size": 16,
        "lr": 0.001,
        "weight_decay": 0.00001,
        "lr_decay_patience": 80,
        "lr_decay_gamma": 0.3,
        "lr_decay_cooldown": 10,
        "patience": 140,
        "seq_dur": 6.0,
        "samples_per_track": 64,
        "seed": 42,
        "seeds": None,
        "source_augmentations": ["gain", "channelswap"],
        "random_track_mix": True,
        "nb_workers": 0,
        "flat_loss_epochs": 20,
        "device": "auto",
        "extra_datasets": [],
        # GPU training (issue 20); fp32 + loader is open-unmix's own way
        "precision": "fp32",
        "data_path": "loader",
        "deterministic": True,
    },
}

SECTIONS = tuple(PUBLISHED_DEFAULTS)

# The phase-mix oracle is evaluated like a variant: its results directory and its name in
# scores.csv, every table and every plot.
ORACLE_VARIANT = "oracle-phasemix"
ORACLE_LABEL = "oracle (phase-mix 4096)"
# the sliCQ phase-mix oracle (evaluation.slicq_oracle names the sliced variant whose transform it uses)
SLICQ_ORACLE_VARIANT = "oracle-phasemix-slicq"
SLICQ_ORACLE_LABEL = "oracle (phase-mix sliCQ)"


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Return `base` overlaid by `over`; nested mappings merge, everything else replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _row_settings(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in SECTIONS if key in row}


def _variant_rows(
    variants: Mapping[str, Mapping[str, Any]], name: str, chain: tuple[str, ...] = ()
) -> list[Mapping[str, Any]]:
    """The config rows that make up `name`, bases first, each base expanded recursively."""
    if name in chain:
        raise ValueError(f"variants: 'base' of {name!r} forms a cycle: {' -> '.join(chain + (name,))}")
    if name not in variants:
        known = ", ".join(sorted(variants))
        where = f"variants.{chain[-1]}.base" if chain else "variants"
        raise KeyError(f"{where}: unknown variant {name!r}; known variants: {known}")
    row = variants[name]
    rows: list[Mapping[str, Any]] = []
    for base in row.get("base", []):
        rows.extend(_variant_rows(variants, base, chain + (name,)))
    rows.append(row)
    return rows


def resolve_variant(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """Full settings (stft, model, train) of variant `name` under `config`."""
    settings = deep_merge(PUBLISHED_DEFAULTS, config.get("defaults", {}))
    if config["dataset"]["kind"] == "demo":
        settings = deep_merge(settings, config.get("demo", {}).get("overrides", {}))
    for row in _variant_rows(config["variants"], name):
        settings = deep_merge(settings, _row_settings(row))
    return settings


def variant_seeds(settings: Mapping[str, Any]) -> list[int]:
    """The seeds a variant trains with: `train.seeds`, or the one `train.seed`."""
    seeds = settings["train"].get("seeds")
    return list(seeds) if seeds else [settings["train"]["seed"]]


def seed_settings(settings: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """The settings of one seed's training job: `train.seed` set, the seed list left out,
    so adding a seed to the list leaves the other seeds' checkpoints valid."""
    merged = deep_merge(settings, {"train": {"seed": seed}})
    merged["train"].pop("seeds", None)
    return merged


def with_valid_sdr_window(settings: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """A training job's settings with `train.valid_sdr` on: the study's museval window
    (`evaluation.win`/`hop`, seconds, museval's 1 s when left out) as `train.valid_sdr_window`, so
    the validation SDR is framed as the evaluation frames its scores, the model JSON's `args` say
    so, and a changed window reruns the job. Without the SDR the settings come back unchanged (a
    study that does not ask for it keeps its jobs' parameters)."""
    if not settings["train"].get("valid_sdr", False):
        return dict(settings)
    evaluation = config.get("evaluation", {})
    window = [float(evaluation.get("win", 1.0)), float(evaluation.get("hop", 1.0))]
    return deep_merge(settings, {"train": {"valid_sdr_window": window}})


def settings_hash(settings: Mapping[str, Any]) -> str:
    """Short stable hash of resolved settings: equal hashes mean equal training recipes."""
    blob = json.dumps(settings, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def models_variant(config: Mapping[str, Any], name: str) -> str:
    """The variant whose trained models `name` separates with: its `models_from`, else itself.

    A separation-only variant (e.g. umx-mr-5a/5b) reuses another variant's models and
    changes only how they are combined, so it never retrains.
    """
    source = config["variants"][name].get("models_from", name)
    if source not in config["variants"]:
        raise KeyError(f"variants.{name}.models_from: unknown variant {source!r}; known variants: {', '.join(sorted(config['variants']))}")
    return source


# The notes' "evaluation break" (umx-mr-notes.md: "eval + boxplot: 1. umx-mr-0 2. umx-mr-1+2+3"):
# what is compared on real data when evaluation.variants is left out.
NOTES_EVAL_VARIANTS = ["umx-mr-0", "umx-mr-1", "umx-mr-2", "umx-mr-3"]
# The demo's short list: a few CPU minutes.
DEMO_EVAL_VARIANTS = ["umx-mr-0", "umx-mr-5a", "umx-mr-5b"]


def evaluation_variants(config: Mapping[str, Any]) -> list[str]:
    """`evaluation.variants`, or when it is left out the notes' evaluation break on real data
    (NOTES_EVAL_VARIANTS) and the demo's short list on the demo (DEMO_EVAL_VARIANTS)."""
    given = config.get("evaluation", {}).get("variants")
    if given:
        return list(given)
    return list(DEMO_EVAL_VARIANTS if config["dataset"]["kind"] == "demo" else NOTES_EVAL_VARIANTS)


def pretrained_variants(config: Mapping[str, Any]) -> list[str]:
    """Variants that are published Open-Unmix models (`pretrained: umxhq | umx | umxl`): their
    models are read from the published weights (umxmr.models.pretrained), never trained."""
    return [name for name, row in config["variants"].items() if row.get("pretrained")]


def variant_separation(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """`separation` of config.yaml overlaid by the variant's own `separation` rows (bases first)."""
    merged = dict(config["separation"])
    for row in _variant_rows(config["variants"], name):
        merged = deep_merge(merged, row.get("separation", {}))
    return merged


def oracle_stft(stft: Mapping[str, Any], target: str, best: Mapping[str, Any]) -> dict[str, Any]:
    """The STFT settings of `target` when its variant takes the window from the oracle search.

    `from_oracle: per_target` takes the target's best window of results/oracle/best.json,
    `single` the best common one; hop = window // `oracle_hop_divisor` (4, Open-Unmix's
    ratio, not the search's overlap). Without `from_oracle` the settings are returned as they are.
    """
    choice = stft.get("from_oracle")
    if choice is None:
        return dict(stft)
    window = int(best["single"]["window"] if choice == "single" else best["per_target"][target]["window"])
    return {**stft, "n_fft": window, "hop": window // int(stft.get("oracle_hop_divisor", 4))}


def target_settings(settings: Mapping[str, Any], target: str, best_json: str | None) -> dict[str, Any]:
    """`settings` with the STFT resolved for `target` (reads best.json when the variant needs it)."""
    if settings["stft"].get("from_oracle") is None:
        return dict(settings)
    if not best_json:
        raise ValueError("stft.from_oracle needs results/oracle/best.json as an input of the training job")
    with open(best_json, encoding="utf-8") as handle:
        best = json.load(handle)
    return {**settings, "stft": oracle_stft(settings["stft"], target, best)}
