"""Each variant row in config.yaml differs from umx-mr-0 in exactly what the notes say.

Sizes are checked on the published settings (dataset.kind musdb18hq, so no demo shrink);
behaviour (layer order, dropout) on small models so it runs in seconds.
"""

from __future__ import annotations

import copy

import pytest
import torch
import yaml
from torch import nn

from umxmr.models.registry import build_model
from umxmr.settings import PUBLISHED_DEFAULTS, deep_merge, resolve_variant
from workflow_helpers import snakemake, workdir_with_config

VARIANTS = [
    "umx-mr-0", "umx-mr-1", "umx-mr-2", "umx-mr-3",
    "umx-nw-stft8192", "umx-nw-conv", "umx-nw-sigmoid", "umx-nw-nodropout",
]


@pytest.fixture
def config(repo_root):
    config = yaml.safe_load((repo_root / "config.yaml").read_text())
    config["dataset"] = {"kind": "musdb18hq", "root": "/nowhere"}
    return config


def published(config, name):
    return resolve_variant(config, name)


def small(config, name):
    """The variant with small sizes (STFT 512/128, hidden 16), all its switches kept."""
    settings = resolve_variant(config, name)
    return deep_merge(settings, {"stft": {"n_fft": 512, "hop": 128}, "model": {"hidden_size": 16}})


def changed_keys(settings):
    """(section, key) pairs where the settings differ from the published defaults."""
    return {
        (section, key)
        for section, values in settings.items()
        for key, value in values.items()
        if PUBLISHED_DEFAULTS[section][key] != value
    }


def inputs_of(model, x, *names):
    """The first input tensor of each named submodule during one forward pass."""
    seen, hooks = {}, []

    def record(name):
        def hook(module, args, out):
            seen.setdefault(name, (args[0].detach(), out.detach()))

        return hook

    for name in names:
        hooks.append(getattr(model, name).register_forward_hook(record(name)))
    model(x)
    for hook in hooks:
        hook.remove()
    return seen


def test_all_variants_are_in_the_config(config):
    assert set(VARIANTS) <= set(config["variants"])
    for name in VARIANTS:
        assert config["variants"][name]["description"].strip()


@pytest.mark.parametrize(
    "name, expected",
    [
        ("umx-mr-0", set()),
        ("umx-mr-1", {("model", "act_before_bn"), ("model", "bn3"), ("model", "output_mean_init")}),
        ("umx-mr-2", {("model", "rnn")}),
        ("umx-mr-3", {("model", "act_before_bn"), ("model", "bn3"), ("model", "output_mean_init"), ("model", "rnn")}),
        ("umx-nw-stft8192", {("stft", "n_fft"), ("stft", "hop")}),
        ("umx-nw-conv", {("model", "first_layer")}),
        ("umx-nw-sigmoid", {("model", "output_activation")}),
        ("umx-nw-nodropout", {("model", "rnn_dropout")}),
    ],
)
def test_each_variant_changes_only_what_the_notes_say(config, name, expected):
    assert changed_keys(published(config, name)) == expected


def test_umx_mr_3_is_umx_mr_1_plus_2(config):
    assert config["variants"]["umx-mr-3"]["base"] == ["umx-mr-1", "umx-mr-2"]
    assert "umx-mr-1" in config["variants"]["umx-mr-3"]["description"]
    merged = deep_merge(published(config, "umx-mr-1"), {"model": config["variants"]["umx-mr-2"]["model"]})
    assert published(config, "umx-mr-3") == merged


@pytest.mark.parametrize("name, act_before_bn", [("umx-mr-0", False), ("umx-mr-1", True), ("umx-mr-3", True)])
def test_layer_order_of_activation_and_batch_norm(config, name, act_before_bn):
    torch.manual_seed(0)
    model = build_model(small(config, name), 44100.0).train()
    seen = inputs_of(model, torch.rand(2, 2, 257, 9), "fc1", "bn1", "fc2", "bn2")
    fc1_out, bn1_in = seen["fc1"][1], seen["bn1"][0]
    fc2_out, bn2_in = seen["fc2"][1], seen["bn2"][0]
    if act_before_bn:  # fc1 -> tanh -> bn1, fc2 -> relu -> bn2
        assert torch.allclose(bn1_in, torch.tanh(fc1_out))
        assert torch.allclose(bn2_in, torch.relu(fc2_out))
    else:  # fc1 -> bn1 -> tanh, fc2 -> bn2 -> relu
        assert torch.equal(bn1_in, fc1_out) and torch.equal(bn2_in, fc2_out)


@pytest.mark.parametrize("name, has_bn3, mean", [("umx-mr-0", True, 1.0), ("umx-mr-1", False, 0.0), ("umx-mr-3", False, 0.0)])
def test_bn3_and_output_mean(config, name, has_bn3, mean):
    model = build_model(published(config, name), 44100.0)
    batch_norms = [m.num_features for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
    assert batch_norms == ([512, 512, 2049 * 2] if has_bn3 else [512, 512])
    assert (model.bn3 is not None) == has_bn3
    assert torch.all(model.output_mean == mean) and model.output_mean.shape == (2049,)


@pytest.mark.parametrize(
    "name, cell, dropout",
    [("umx-mr-0", nn.LSTM, 0.4), ("umx-mr-2", nn.GRU, 0.4), ("umx-mr-3", nn.GRU, 0.4), ("umx-nw-nodropout", nn.LSTM, 0.0)],
)
def test_recurrent_core(config, name, cell, dropout):
    rnn = build_model(published(config, name), 44100.0).rnn
    assert type(rnn) is cell
    assert (rnn.num_layers, rnn.input_size, rnn.hidden_size, rnn.bidirectional) == (3, 512, 256, True)
    assert rnn.dropout == dropout


@pytest.mark.parametrize("name, deterministic", [("umx-mr-0", False), ("umx-nw-nodropout", True)])
def test_recurrent_dropout_acts_in_training(config, name, deterministic):
    settings = deep_merge(small(config, name), {"model": {"nb_layers": 3}})
    torch.manual_seed(0)
    model = build_model(settings, 44100.0).train()
    x = torch.rand(2, 2, 257, 9)
    torch.manual_seed(1)
    a = model(x)
    torch.manual_seed(2)
    b = model(x)
    assert torch.equal(a, b) == deterministic


def test_stft8192_sizes(config):
    settings = published(config, "umx-nw-stft8192")
    assert settings["stft"] == {"n_fft": 8192, "hop": 2048}
    model = build_model(settings, 44100.0)
    assert (model.nb_output_bins, model.nb_bins) == (4097, 2973)
    assert model.fc1.in_features == 2973 * 2 and model.fc1.out_features == 512
    assert model.rnn.num_layers == 3


def test_conv_first_layer_sees_neighbouring_frames(config):
    linear = build_model(small(config, "umx-mr-0"), 44100.0).eval()
    conv = build_model(small(config, "umx-nw-conv"), 44100.0).eval()
    assert isinstance(conv.fc1, nn.Conv1d) and conv.fc1.kernel_size == (3,)
    assert isinstance(linear.fc1, nn.Linear)
    x = torch.rand(1, 2, 257, 9)
    bumped = x.clone()
    bumped[..., 4] += 1.0
    for model, reach in ((linear, {4}), (conv, {3, 4, 5})):
        before, after = inputs_of(model, x, "bn1")["bn1"][0], inputs_of(model, bumped, "bn1")["bn1"][0]
        # (frames*samples, hidden): which frames changed
        changed = {int(i) for i in torch.nonzero((before - after).abs().amax(1) > 1e-6)}
        assert changed == reach


def test_sigmoid_output_is_a_mask_below_the_mixture(config):
    torch.manual_seed(0)
    x = torch.rand(2, 2, 257, 9) + 0.1
    sigmoid = build_model(small(config, "umx-nw-sigmoid"), 44100.0).eval()
    ratio = sigmoid(x) / x
    assert torch.all((ratio > 0) & (ratio < 1))
    relu = build_model(small(config, "umx-mr-0"), 44100.0).eval()
    with torch.no_grad():
        relu.output_mean.fill_(2.0)  # relu lets the factor exceed 1; sigmoid never does
        sigmoid.output_mean.fill_(2.0)
    assert (relu(x) / x).max() > 1 and (sigmoid(x) / x).max() < 1


@pytest.mark.workflow
def test_every_variant_can_go_into_the_boxplot(tmp_path, repo_root):
    config = yaml.safe_load((repo_root / "config.yaml").read_text())
    config["evaluation"]["variants"] = copy.copy(VARIANTS)
    result = snakemake(workdir_with_config(tmp_path, config), "-n", "results/boxplot.pdf")
    assert result.returncode == 0, result.stderr
    for name in VARIANTS:
        assert f"variant={name}, target=vocals" in result.stdout
