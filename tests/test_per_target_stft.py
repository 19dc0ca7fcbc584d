"""umx-mr-5: per-target STFTs from the oracle search, separated with and without a common STFT."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

from umxmr.separation.separate import separate_per_target_stft, separator_config
from umxmr.settings import models_variant, target_settings, variant_separation
from workflow_helpers import ROOT, snakemake, workdir_with_config


class Half(torch.nn.Module):
    """A 'model' that returns half the mixture magnitude."""

    def forward(self, mag: torch.Tensor) -> torch.Tensor:
        return 0.5 * mag


@pytest.mark.parametrize("mode", ["own", "common"])
def test_both_answers_give_half_the_mixture_for_half_magnitudes(mode):
    torch.set_num_threads(1)
    mixture = np.random.default_rng(0).standard_normal((20000, 2)).astype(np.float32)
    models = {"vocals": (Half(), 1536, 384), "bass": (Half(), 3840, 960)}
    estimates = separate_per_target_stft(mixture, models, mode, common_stft=(2048, 512), niter=1, wiener_win_len=None)
    assert set(estimates) == {"vocals", "bass"}
    for estimate in estimates.values():
        assert estimate.shape == mixture.shape
        np.testing.assert_allclose(estimate, 0.5 * mixture, atol=1e-3)


def test_own_and_common_differ_when_the_estimates_do_not_add_up():
    class Scale(torch.nn.Module):
        def __init__(self, gain):
            super().__init__()
            self.gain = gain

        def forward(self, mag):
            return self.gain * mag

    mixture = np.random.default_rng(1).standard_normal((20000, 2)).astype(np.float32)
    models = {"vocals": (Scale(0.9), 1536, 384), "bass": (Scale(0.3), 3840, 960)}
    own = separate_per_target_stft(mixture, models, "own", common_stft=(2048, 512), wiener_win_len=None)
    common = separate_per_target_stft(mixture, models, "common", common_stft=(2048, 512), niter=1, wiener_win_len=None)
    np.testing.assert_allclose(own["vocals"], 0.9 * mixture, atol=1e-3)
    # alone, the estimates overshoot (0.9 + 0.3 of the mixture); the joint Wiener/EM in the
    # common STFT shares the mixture out, so they add up to it
    own_error = np.abs(own["vocals"] + own["bass"] - mixture).mean()
    common_error = np.abs(common["vocals"] + common["bass"] - mixture).mean()
    assert own_error > 0.1 and common_error < 0.1 * own_error


def test_separator_json_records_per_target_stfts_only_when_they_differ():
    def settings(n_fft):
        return {"stft": {"n_fft": n_fft, "hop": n_fft // 4}, "model": {"nb_channels": 2}}

    separation = {"niter": 1, "softmask": False, "residual": False, "wiener_win_len": 300, "per_target_stft": "common"}
    same = separator_config(settings(4096), separation, ["vocals", "bass"], 44100, [settings(4096), settings(4096)])
    assert "target_stft" not in same
    mixed = separator_config(settings(6912), separation, ["vocals", "bass"], 44100, [settings(6912), settings(15232)])
    assert mixed["target_stft"]["bass"] == {"nfft": 15232, "nhop": 3808}
    assert mixed["per_target_stft"] == "common" and mixed["common_stft"] == {"nfft": 4096, "nhop": 1024}


def test_shipped_umx_mr_5_variants(tmp_path):
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert models_variant(config, "umx-mr-5a") == models_variant(config, "umx-mr-5b") == "umx-mr-5"
    assert variant_separation(config, "umx-mr-5a")["per_target_stft"] == "own"
    assert variant_separation(config, "umx-mr-5b")["niter"] == config["separation"]["niter"]
    best = tmp_path / "best.json"
    best.write_text(json.dumps({"per_target": {"bass": {"window": 15232}}, "single": {"window": 8320}}))
    from umxmr.settings import resolve_variant

    resolved = target_settings(resolve_variant(config, "umx-mr-5"), "bass", str(best))
    assert (resolved["stft"]["n_fft"], resolved["stft"]["hop"]) == (15232, 3808)
    with pytest.raises(ValueError, match="best.json"):
        target_settings(resolve_variant(config, "umx-mr-5"), "bass", None)


def _umx_mr_5_workdir(tmp_path):
    config = yaml.safe_load((ROOT / ".test" / "config.yaml").read_text())
    full = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["variants"]["umx-mr-5"] = full["variants"]["umx-mr-5"]
    return workdir_with_config(tmp_path, config)


def test_umx_mr_5_training_depends_on_the_search(tmp_path):
    result = snakemake(_umx_mr_5_workdir(tmp_path), "-n", "results/umx-mr-5/bass.json")
    assert result.returncode == 0, result.stderr
    train = result.stdout[result.stdout.index("rule train:") :].split("\n\n")[0]
    assert "results/oracle/best.json" in train
    assert "oracle_best" in result.stdout and "oracle_search" in result.stdout


@pytest.mark.workflow
def test_a_changed_search_retrains_umx_mr_5(tmp_path):
    workdir = _umx_mr_5_workdir(tmp_path)
    result = snakemake(workdir, "results/umx-mr-5/bass.json")
    assert result.returncode == 0, result.stderr[-3000:]
    best = json.loads((workdir / "results/oracle/best.json").read_text())
    window = best["per_target"]["bass"]["window"]
    args = json.loads((workdir / "results/umx-mr-5/bass.json").read_text())["args"]
    assert (args["stft"]["n_fft"], args["stft"]["hop"]) == (window, window // 4)
    assert "Nothing to be done" in snakemake(workdir, "-n", "results/umx-mr-5/bass.json").stdout
    best["per_target"]["bass"]["window"] = 2048  # as if the search had chosen another window
    (workdir / "results/oracle/best.json").write_text(json.dumps(best))
    result = snakemake(workdir, "-n", "results/umx-mr-5/bass.json")
    assert "Updated input files: results/oracle/best.json" in result.stdout
    assert "nfft2048_hop512" in result.stdout
