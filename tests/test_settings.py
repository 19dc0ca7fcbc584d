"""Variant resolution and config validation."""

from __future__ import annotations

import copy

import pytest
import yaml

from umxmr.config_check import ConfigError, config_errors, validate_config
from umxmr.settings import (
    PUBLISHED_DEFAULTS,
    deep_merge,
    resolve_variant,
    seed_settings,
    settings_hash,
    variant_seeds,
)


@pytest.fixture
def config(repo_root):
    return yaml.safe_load((repo_root / "config.yaml").read_text())


@pytest.fixture
def schema(repo_root):
    return yaml.safe_load((repo_root / "schemas" / "config.schema.yaml").read_text())


def test_deep_merge_nested_and_replacing():
    merged = deep_merge({"a": {"x": 1, "y": 2}, "b": [1]}, {"a": {"y": 3}, "b": [2]})
    assert merged == {"a": {"x": 1, "y": 3}, "b": [2]}


def test_real_data_takes_published_values(config):
    config["dataset"] = {"kind": "musdb18hq", "root": "/nowhere"}
    assert resolve_variant(config, "umx-mr-0") == PUBLISHED_DEFAULTS


def test_demo_overrides_apply_only_on_demo(config):
    demo = resolve_variant(config, "umx-mr-0")
    assert demo["model"]["hidden_size"] == config["demo"]["overrides"]["model"]["hidden_size"]
    assert demo["train"]["lr"] == PUBLISHED_DEFAULTS["train"]["lr"]


def test_bases_merge_in_order_and_row_wins(config):
    config["variants"].update(
        {
            "a": {"model": {"rnn": "gru", "bn3": False}},
            "b": {"model": {"bn3": True, "act_before_bn": True}},
            "c": {"base": ["a", "b"], "model": {"hidden_size": 16}},
        }
    )
    c = resolve_variant(config, "c")["model"]
    assert (c["rnn"], c["bn3"], c["act_before_bn"], c["hidden_size"]) == ("gru", True, True, 16)


def test_base_cycle_and_unknown_base_are_named(config):
    config["variants"]["x"] = {"base": ["y"]}
    config["variants"]["y"] = {"base": ["x"]}
    with pytest.raises(ValueError, match="cycle"):
        resolve_variant(config, "x")
    config["variants"]["z"] = {"base": ["nope"]}
    with pytest.raises(KeyError, match="variants.z.base: unknown variant 'nope'"):
        resolve_variant(config, "z")


def test_settings_hash_changes_with_settings():
    other = copy.deepcopy(PUBLISHED_DEFAULTS)
    other["train"]["lr"] = 0.01
    assert settings_hash(PUBLISHED_DEFAULTS) == settings_hash(copy.deepcopy(PUBLISHED_DEFAULTS))
    assert settings_hash(PUBLISHED_DEFAULTS) != settings_hash(other)


def test_shipped_configs_are_valid(repo_root, config, schema):
    assert config_errors(config, schema) == []
    test_config = yaml.safe_load((repo_root / ".test" / "config.yaml").read_text())
    assert config_errors(test_config, schema) == []


def test_published_defaults_validate(schema, config):
    config["defaults"] = copy.deepcopy(PUBLISHED_DEFAULTS)
    assert config_errors(config, schema) == []


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda c: c["variants"]["umx-mr-0"].update(model={"rnn": "lstmm"}),
         "variants.umx-mr-0.model.rnn: 'lstmm' is not allowed; allowed values: lstm, gru"),
        (lambda c: c["defaults"].update(model={"hiden_size": 8}),
         "defaults.model: unknown key(s) 'hiden_size'; allowed keys: architecture, hidden_size"),
        (lambda c: c["dataset"].update(kind="musdb"),
         "dataset.kind: 'musdb' is not allowed; allowed values: demo, musdb18hq"),
        (lambda c: c["evaluation"].update(variants=["umx-mr-9"]),
         "evaluation.variants: 'umx-mr-9' is not a variant; defined variants: umx-mr-0"),
        (lambda c: c["separation"].update(niter=-1), "separation.niter: -1 is less than the minimum of 0"),
        (lambda c: c["evaluation"].update(metrics=["SDR", "SIR"]), "evaluation.metrics: ['SDR', 'SIR'] is not offered; use [SDR]"),
        (lambda c: c["evaluation"].update(metrics=["PES"]), "evaluation.metrics.0: 'PES' is not allowed; allowed values: SDR, SIR"),
        (lambda c: c["dataset"].update(kind="trackfolder"), "dataset.stems: required for kind trackfolder"),
        (lambda c: c["dataset"].update(valid_tracks=["a"]), "dataset.valid_tracks: only used by kind trackfolder"),
        (lambda c: c.pop("periphery"), "variants.umx-mr-6: trains on 'periphery' but config.yaml has no 'periphery' section"),
        (lambda c: c["periphery"].update(other_rates="drop"),
         "periphery.other_rates: 'drop' is not allowed; allowed values: resample, refuse"),
        (lambda c: c["periphery"]["mapping"].update(guitar="guitars"),
         "periphery.mapping.guitar: 'guitars' is not allowed; allowed values: drums, bass, other, vocals"),
        (lambda c: c["variants"]["umx-mr-6"]["train"].update(extra_datasets=["medleydb"]),
         "variants.umx-mr-6.train.extra_datasets.0: 'medleydb' is not allowed; allowed values: periphery"),
        (lambda c: c["variants"]["umx-mr-0"].setdefault("train", {}).update(precision="fp8"),
         "variants.umx-mr-0.train.precision: 'fp8' is not allowed; allowed values: fp32, bf16, fp16"),
        (lambda c: c["variants"]["umx-mr-0"].setdefault("train", {}).update(data_path="gpu"),
         "variants.umx-mr-0.train.data_path: 'gpu' is not allowed; allowed values: loader, device"),
        (lambda c: c["variants"]["umx-mr-0"].setdefault("train", {}).update(valid_sdr="yes"),
         "variants.umx-mr-0.train.valid_sdr: 'yes' is not of type 'boolean'"),
        (lambda c: c["defaults"].update(train={"valid_sdr": True, "valid_sdr_every": 0}),
         "defaults.train.valid_sdr_every: 0 is less than the minimum of 1"),
        (lambda c: c["defaults"].update(train={"valid_sdr_every": 2.5}),
         "defaults.train.valid_sdr_every: 2.5 is not of type 'integer'"),
        (lambda c: c["variants"].update(hq={"pretrained": "umxxl"}),
         "variants.hq.pretrained: 'umxxl' is not allowed; allowed values: umxhq, umx, umxl"),
        (lambda c: c["variants"]["umx-mr-0"].update(weights="/w"), "variants.umx-mr-0.weights: only used with `pretrained`"),
        (lambda c: c["variants"].update(hq={"pretrained": "umxhq", "model": {"hidden_size": 8}}),
         "variants.hq: a published model (pretrained: umxhq) takes its settings from its weights; remove model"),
    ],
)
def test_config_errors_name_key_and_allowed_values(config, schema, edit, expected):
    edit(config)
    errors = config_errors(config, schema)
    assert any(e.startswith(expected) for e in errors), errors


def test_validate_config_raises_with_every_problem(repo_root, config):
    config["targets"] = ["voclas"]
    config["separation"]["niter"] = "one"
    with pytest.raises(ConfigError) as err:
        validate_config(config, repo_root / "schemas" / "config.schema.yaml")
    assert "2 problem(s)" in str(err.value)
    assert "targets.0: 'voclas' is not allowed" in str(err.value)


def test_seeds_default_to_the_one_seed_and_seed_jobs_leave_the_list_out(config):
    settings = resolve_variant(config, "umx-mr-0")
    assert variant_seeds(settings) == [42]
    config["variants"]["umx-mr-0"]["train"] = {"seeds": [1, 2, 3, 4]}
    settings = resolve_variant(config, "umx-mr-0")
    assert variant_seeds(settings) == [1, 2, 3, 4]
    jobs = [seed_settings(settings, s) for s in variant_seeds(settings)]
    assert [j["train"]["seed"] for j in jobs] == [1, 2, 3, 4] and all("seeds" not in j["train"] for j in jobs)
    # adding a seed keeps the recipe (and so the checkpoint) of the others
    config["variants"]["umx-mr-0"]["train"] = {"seeds": [1, 2]}
    assert seed_settings(resolve_variant(config, "umx-mr-0"), 1) == jobs[0]


def test_evaluation_variants_default_to_the_notes_break_on_real_data_and_the_short_list_on_the_demo(repo_root, schema):
    from umxmr.settings import evaluation_variants

    config = yaml.safe_load((repo_root / "config.yaml").read_text())
    assert "variants" not in config["evaluation"] and config_errors(config, schema) == []
    assert evaluation_variants(config) == ["umx-mr-0", "umx-mr-5a", "umx-mr-5b"]
    real = copy.deepcopy(config) | {"dataset": {"kind": "musdb18hq", "root": "/data/musdb18hq"}}
    # the notes' "evaluation break": umx-mr-0 against umx-mr-1+2+3
    assert evaluation_variants(real) == ["umx-mr-0", "umx-mr-1", "umx-mr-2", "umx-mr-3"]
    assert evaluation_variants(real | {"evaluation": {"variants": ["umx-mr-7"]}}) == ["umx-mr-7"]
    real["variants"] = {"umx-mr-0": real["variants"]["umx-mr-0"]}
    errors = config_errors(real, schema)
    assert errors[0].startswith("evaluation.variants: 'umx-mr-1' is not a variant") and "left out" in errors[0]
    full = yaml.safe_load((repo_root / "config" / "full-comparison.yaml").read_text())["evaluation"]["variants"]
    # every variant (umx-mr-5 through its separations 5a/5b), the ideas that didn't work included
    assert set(full) | {config["variants"][v].get("models_from", v) for v in full} == set(config["variants"])
    assert {"umx-nw-stft8192", "umx-nw-conv", "umx-nw-sigmoid", "umx-nw-nodropout"} <= set(full)
