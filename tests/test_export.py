"""Export to Open-Unmix's format: openunmix's own loader and separator read what we write."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
import yaml

from umxmr.models.export import ExportError, export_openunmix, export_refusal
from umxmr.models.registry import build_model
from umxmr.separation.separate import load_target_model, separate, separator_config
from umxmr.settings import PUBLISHED_DEFAULTS, deep_merge, models_variant, resolve_variant
from test_pretrained import one_torch_thread  # noqa: F401  (autouse fixture)
from workflow_helpers import ROOT

TARGETS = ["vocals", "drums", "bass", "other"]
RATE = 44100
EXPORTABLE = {"umx-mr-0", "umx-mr-6", "umx-nw-nodropout", "umx-nw-stft8192"}


def small_settings(**model) -> dict:
    """Open-Unmix's published layout (3 bidirectional LSTM layers) with a small STFT and hidden size."""
    return deep_merge(PUBLISHED_DEFAULTS, {"stft": {"n_fft": 1024, "hop": 256}, "model": {"hidden_size": 16, **model}})


def write_trained(folder, settings) -> tuple[list, list]:
    """Our result files for every target: randomised weights (batch-norm statistics included)."""
    folder.mkdir(parents=True, exist_ok=True)
    summaries, weights = [], []
    for k, target in enumerate(TARGETS):
        torch.manual_seed(k)
        bins = settings["stft"]["n_fft"] // 2 + 1
        model = build_model(settings, RATE, np.random.default_rng(k).random(bins), 1 + np.random.default_rng(k).random(bins))
        state = {name: (v + 0.1 * torch.randn_like(v).abs() if v.is_floating_point() else v) for name, v in model.state_dict().items()}
        torch.save(state, folder / f"{target}.pth")
        (folder / f"{target}.json").write_text(json.dumps({"args": settings, "best_loss": 1.0 + k, "epochs_trained": 3}))
        summaries.append(folder / f"{target}.json")
        weights.append(folder / f"{target}.pth")
    return summaries, weights


def test_export_loads_strictly_in_openunmix_and_separates_as_ours(tmp_path):
    from openunmix.model import OpenUnmix as Reference
    from openunmix.utils import load_separator

    settings = small_settings()
    summaries, weights = write_trained(tmp_path / "variant", settings)
    separation = {"niter": 1, "softmask": False, "residual": False, "wiener_win_len": 300}
    conf = separator_config(settings, separation, TARGETS, RATE, [settings] * 4)
    out = tmp_path / "variant" / "openunmix"
    export_openunmix(summaries, weights, TARGETS, conf, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(["separator.json", *(f"{t}.{e}" for t in TARGETS for e in ("json", "pth"))])
    for target in TARGETS:
        args = json.loads((out / f"{target}.json").read_text())["args"]
        state = torch.load(out / f"{target}.pth", weights_only=True)
        # built as openunmix's load_target_models builds it, from the exported settings
        reference = Reference(nb_bins=args["nfft"] // 2 + 1, nb_channels=args["nb_channels"], hidden_size=args["hidden_size"],
                              max_bin=state["input_mean"].shape[0])
        expected = reference.state_dict()
        assert list(state) == list(expected)  # key by key, in openunmix's order
        assert all(state[k].shape == expected[k].shape for k in expected)  # shape by shape
        reference.load_state_dict(state, strict=True)
    # separated through openunmix's own loader and Separator, and through ours
    separator = load_separator(str(out), targets=TARGETS, niter=1, residual=False, wiener_win_len=300).eval()
    gen = torch.Generator().manual_seed(0)
    mixture = 0.3 * torch.randn(2, RATE, generator=gen)
    with torch.no_grad():
        theirs = separator(mixture[None])[0].numpy()
    models = {t: load_target_model(s, w, RATE, torch.device("cpu")) for t, s, w in zip(TARGETS, summaries, weights)}
    ours = separate(mixture.numpy().T, models, 1024, 256, niter=1, wiener_win_len=300)
    for k, target in enumerate(TARGETS):
        # both in float32 STFTs; norbert works in float64: equal to float32 precision (as tests/test_separate.py)
        np.testing.assert_allclose(ours[target].T, theirs[k], atol=2e-5 * float(mixture.abs().max()))


def test_export_refuses_layouts_openunmix_cannot_represent(tmp_path):
    summaries, weights = write_trained(tmp_path / "gru", small_settings(rnn="gru"))
    with pytest.raises(ExportError, match=r"cannot represent a GRU core .*model\.rnn: 'gru'"):
        export_openunmix(summaries, weights, TARGETS, {"nfft": 1024, "nhop": 256, "sample_rate": RATE, "nb_channels": 2},
                         tmp_path / "gru" / "openunmix")
    assert not (tmp_path / "gru" / "openunmix").exists()
    assert "number of recurrent layers other than 3" in export_refusal(small_settings(nb_layers=2))


def test_exportable_variants_are_the_four_openunmix_layouts():
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config = copy.deepcopy(config) | {"dataset": {"kind": "musdb18hq", "root": "/data"}}  # real data: no demo shrink
    trained = [v for v in config["variants"] if models_variant(config, v) == v and not config["variants"][v].get("pretrained")]
    exportable = {v for v in trained if export_refusal(resolve_variant(config, v)) is None}
    assert exportable == EXPORTABLE


def test_export_is_a_workflow_target(tmp_path):
    from workflow_helpers import snakemake, workdir_with_config

    result = snakemake(workdir_with_config(tmp_path), "-n", "results/umx-mr-6/openunmix/separator.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rule export_openunmix:" in result.stdout + result.stderr and "wildcards: variant=umx-mr-6" in result.stdout + result.stderr
