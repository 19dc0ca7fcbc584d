"""The study's configuration as one HTML page for the Snakemake report: the config as given,
and each evaluated variant's full settings after the deep merges (what its models were built with)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from umxmr.settings import resolve_variant


def config_html(config: Mapping[str, Any], variants: Sequence[str]) -> str:
    blocks = [("config.yaml (as given)", dict(config))]
    blocks += [_variant_block(config, v) for v in variants]
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'></head><body style='font-family:sans-serif'>"]
    for title, data in blocks:
        text = yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
        parts += [f"<h3>{html.escape(title)}</h3>", f"<pre>{html.escape(text)}</pre>"]
    return "\n".join(parts + ["</body></html>"]) + "\n"


def _variant_block(config: Mapping[str, Any], name: str) -> tuple[str, Any]:
    """A trained variant's resolved settings; a published model's origin (its settings are those
    of the published weights, in `results/<variant>/<target>.json` under `args`)."""
    row = config["variants"][name]
    if row.get("pretrained"):
        return (f"variant {name}: published Open-Unmix model {row['pretrained']}", {
            "pretrained": row["pretrained"],
            "weights": row.get("weights", "torch hub cache ($TORCH_HOME/hub/checkpoints)"),
            "settings": f"those of the published weights (STFT 4096/1024, 3 BLSTM layers): results/{name}/<target>.json, args",
        })
    return (f"variant {name}: resolved settings", resolve_variant(config, name))
