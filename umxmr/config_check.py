"""Check config.yaml against its JSON schema, with messages in plain words.

jsonschema's own messages name neither the dotted key nor, for a typo, the keys that are
allowed; a researcher should read "model.rnn: 'lstmm' is not allowed; allowed values:
lstm, gru" and fix it in seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from umxmr.settings import evaluation_variants, resolve_variant
from umxmr.target_sets import target_set_errors


class ConfigError(ValueError):
    """A config.yaml that the workflow cannot run."""


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _message(error: jsonschema.ValidationError) -> str:
    key = _key(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    if error.validator == "additionalProperties" and "properties" in schema:
        unknown = sorted(set(error.instance) - set(schema["properties"]))
        allowed = ", ".join(schema["properties"])
        return f"{key}: unknown key(s) {', '.join(map(repr, unknown))}; allowed keys: {allowed}"
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return f"{key}: {error.instance!r} is not allowed; allowed values: {allowed}"
    if error.validator == "required":
        return f"{key}: {error.message}"
    description = schema.get("description")
    return f"{key}: {error.message}" + (f" ({description})" if description else "")


def config_errors(config: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Every problem in `config`, one plain sentence each, schema first, then cross-references."""
    validator = jsonschema.Draft7Validator(schema)
    errors = [_message(e) for e in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))]
    if errors:
        return errors
    given = "variants" in config["evaluation"]
    for name in evaluation_variants(config):
        if name not in config["variants"]:
            errors.append(
                f"evaluation.variants: {name!r} is not a variant; defined variants: {', '.join(config['variants'])}"
                + ("" if given else " (evaluation.variants is left out, so the default list applies; set it to the variants to compare)")
            )
    slicq_oracle = config["evaluation"].get("slicq_oracle")
    if slicq_oracle is not None:
        row = config["variants"].get(slicq_oracle)
        if row is None:
            errors.append(f"evaluation.slicq_oracle: {slicq_oracle!r} is not a variant; defined variants: {', '.join(config['variants'])}")
        elif not (row.get("model", {}).get("nsgt") or {}).get("sliced", False):
            errors.append(f"evaluation.slicq_oracle: {slicq_oracle!r} has no sliced NSGT (model.nsgt.sliced: true in its row); name one that has, e.g. umx-mr-7")
    metrics = config["evaluation"].get("metrics")
    if metrics is not None and set(metrics) not in ({"SDR"}, {"SDR", "SIR", "SAR", "ISR"}):
        errors.append(
            f"evaluation.metrics: {metrics} is not offered; use [SDR] (SDR only) or [SDR, SIR, SAR, ISR] "
            "(full BSSEval v4): SIR, SAR and ISR come from the same projections and are computed together"
        )
    dataset = config["dataset"]
    if dataset["kind"] == "trackfolder" and "stems" not in dataset:
        errors.append("dataset.stems: required for kind trackfolder (the file name of each stem in a track folder)")
    if dataset["kind"] != "trackfolder":
        for key in ("stems", "valid_tracks", "other_rates"):
            if key in dataset:
                errors.append(f"dataset.{key}: only used by kind trackfolder; remove it")
    for name, row in config["variants"].items():
        if "weights" in row and not row.get("pretrained"):
            errors.append(f"variants.{name}.weights: only used with `pretrained` (umxhq, umx, umxl); remove it or add pretrained")
        if row.get("pretrained"):
            ignored = [key for key in ("base", "stft", "model", "train", "models_from") if key in row]
            if ignored:
                errors.append(
                    f"variants.{name}: a published model (pretrained: {row['pretrained']}) takes its settings from its "
                    f"weights; remove {', '.join(ignored)}"
                )
    for name in config["variants"]:
        try:
            settings = resolve_variant(config, name)
        except (KeyError, ValueError) as err:
            errors.append(str(err.args[0]))
            continue
        for extra in settings["train"]["extra_datasets"]:
            if extra not in config:
                errors.append(f"variants.{name}: trains on {extra!r} but config.yaml has no {extra!r} section")
    errors += target_set_errors(config)
    if dataset["kind"] == "demo" and "periphery" in config and "periphery" not in config.get("demo", {}):
        errors.append("demo.periphery: required on the demo dataset when config.yaml has a periphery section")
    return errors


def validate_config(config: Mapping[str, Any], schema_path: Path) -> None:
    """Raise ConfigError listing every problem, or return quietly."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    errors = config_errors(config, schema)
    if errors:
        lines = "\n  - ".join(errors)
        raise ConfigError(f"config.yaml has {len(errors)} problem(s):\n  - {lines}\nSee {schema_path} for every key.")
