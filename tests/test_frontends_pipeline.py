"""umx-mr-4 and umx-mr-7 in the pipeline: separation through their front ends, the
statistics the workflow asks for, and the full comparison as a config option."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from umxmr.models.registry import build_frontend, build_model
from umxmr.separation.separate import separate
from umxmr.settings import ORACLE_LABEL, resolve_variant
from umxmr.models.transforms import ISTFT, STFT
from workflow_helpers import ROOT, snakemake, workdir_with_config

RATE = 44100.0
NEW_VARIANTS = ["umx-mr-4", "umx-mr-4-s2", "umx-mr-7", "umx-mr-7-whole"]


@pytest.fixture
def config():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def tiny(config, name):
    settings = resolve_variant(config, name)
    settings["stft"] = {"n_fft": 512, "hop": 128}
    settings["model"].update(hidden_size=8, nb_layers=1)
    return settings


@pytest.mark.parametrize("niter", [0, 1])
def test_separation_through_every_front_end(config, niter):
    torch.manual_seed(0)
    names = ["umx-mr-0", *NEW_VARIANTS]
    settings = {name: tiny(config, name) for name in names}
    models = {name: build_model(settings[name], RATE).eval() for name in names}
    frontends = {name: build_frontend(settings[name], RATE, center=True) for name in names}
    mixture = np.random.default_rng(0).standard_normal((30001, 2)).astype(np.float32)
    estimates = separate(mixture, models, n_fft=512, hop=128, niter=niter, frontends=frontends)
    assert list(estimates) == names
    for audio in estimates.values():
        assert audio.shape == mixture.shape and np.all(np.isfinite(audio)) and np.abs(audio).max() > 0
    if niter == 0:
        # no EM: each estimate is its front end's STFT magnitude with the mixture's phase
        audio = torch.from_numpy(mixture.T.copy())[None]
        mix_stft = STFT(512, 128, center=True)(audio)
        for name in names:
            with torch.no_grad():
                mag = frontends[name].stft_magnitude(models[name](frontends[name].inputs(audio)), audio)
            want = ISTFT(512, 128)(torch.polar(mag, mix_stft.angle()), length=len(mixture))[0].numpy().T
            np.testing.assert_allclose(estimates[name], want, atol=1e-4 * np.abs(want).max())


def test_default_front_end_is_open_unmix_separation(config):
    settings = tiny(config, "umx-mr-0")
    torch.manual_seed(0)
    models = {"vocals": build_model(settings, RATE).eval(), "drums": build_model(settings, RATE).eval()}
    mixture = np.random.default_rng(1).standard_normal((20000, 2)).astype(np.float32)
    plain = separate(mixture, models, n_fft=512, hop=128)
    frontends = {t: build_frontend(settings, RATE, center=True) for t in models}
    explicit = separate(mixture, models, n_fft=512, hop=128, frontends=frontends)
    for target in models:
        np.testing.assert_array_equal(plain[target], explicit[target])


def test_full_comparison_lists_defined_variants_and_its_dag_builds(config, tmp_path):
    extra = yaml.safe_load((ROOT / "config" / "full-comparison.yaml").read_text())
    variants = extra["evaluation"]["variants"]
    assert set(NEW_VARIANTS) <= set(variants) <= set(config["variants"])
    workdir = workdir_with_config(tmp_path, config)
    # targets before --configfile: it takes several values
    result = snakemake(workdir, "-n", "results/boxplot.pdf", "--configfile", str(ROOT / "config" / "full-comparison.yaml"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    table = out[out.index("Job stats:") :].split("\n\n")[0]
    counts = {line.split()[0]: int(line.split()[1]) for line in table.splitlines()[3:] if line.strip()}
    # separation-only variants (models_from) reuse another variant's models
    trained = {config["variants"][v].get("models_from", v) for v in variants}
    assert counts["train"] == len(config["targets"]) * len(trained)
    # umx-mr-4 (s = 4 and 2) need the double and half STFTs' statistics, umx-mr-7 none
    for n_fft, hop in [(4096, 1024), (16384, 4096), (1024, 256), (8192, 2048), (2048, 512)]:
        assert f"data/stats/nfft{n_fft}_hop{hop}.npz" in out
    assert counts["dataset_statistics"] == 5
    # the sliCQ phase-mix oracle row (umx-mr-7's transform) beside the STFT one, one job per test track
    assert extra["evaluation"]["slicq_oracle"] == "umx-mr-7"
    assert counts["oracle_slicq_estimates"] == counts["oracle_estimates"] > 0
    assert "results/oracle-phasemix-slicq/museval/" in out


@pytest.mark.workflow
def test_new_variants_train_separate_and_evaluate_in_the_workflow(tmp_path):
    """The tiny test config with umx-mr-4 (s = 2) and umx-mr-7, two targets, to the boxplot."""
    config = yaml.safe_load((ROOT / ".test" / "config.yaml").read_text())
    rows = yaml.safe_load((ROOT / "config.yaml").read_text())["variants"]
    # umx-mr-4 is umx-mr-3 (= umx-mr-1 + umx-mr-2) with the multi-resolution front end
    names = ["umx-mr-1", "umx-mr-2", "umx-mr-3", "umx-mr-4", "umx-mr-4-s2", "umx-mr-7"]
    config["variants"].update({name: rows[name] for name in names})
    config["targets"] = ["vocals", "bass"]
    config["evaluation"]["variants"] = ["umx-mr-4-s2", "umx-mr-7"]
    workdir = workdir_with_config(tmp_path, config)
    result = snakemake(workdir, "results/boxplot.pdf")
    assert result.returncode == 0, result.stderr[-5000:]
    for variant, architecture in [("umx-mr-4-s2", "multires"), ("umx-mr-7", "nsgt")]:
        summary = json.loads((workdir / f"results/{variant}/vocals.json").read_text())
        assert summary["args"]["model"]["architecture"] == architecture and summary["epochs_trained"] == 2
        assert all(np.isfinite(summary["valid_loss_history"]))
        assert len(list((workdir / f"results/{variant}/museval").glob("*.json"))) == 2
    # umx-mr-4-s2 read the statistics of its three STFTs; umx-mr-7 none
    assert sorted(p.name for p in (workdir / "data/stats").glob("*.npz")) == [
        "nfft2048_hop512.npz", "nfft4096_hop1024.npz", "nfft8192_hop2048.npz"
    ]
    summary = pd.read_csv(workdir / "results/summary.csv")
    assert set(summary["variant"]) == {"umx-mr-4-s2", "umx-mr-7", ORACLE_LABEL} and np.isfinite(summary["score"]).all()
