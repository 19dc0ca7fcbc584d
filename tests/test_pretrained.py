"""Published Open-Unmix weights read strictly into our model, offline: weight files planted in
torch hub's cache layout (TORCH_HOME in a temporary folder) or in a `weights:` folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from umxmr.models.pretrained import PUBLISHED_MODELS, PretrainedError, load_published, published_file
from workflow_helpers import ROOT, snakemake, workdir_with_config

TARGETS = ["vocals", "drums", "bass", "other"]


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread, as the workflow's separate jobs (threads: 1): a small LSTM with two
    threads on a loaded 2-core machine spends seconds spinning."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def openunmix_state(seed: int, hidden_size: int = 8) -> dict[str, torch.Tensor]:
    """A state dict of openunmix's own model with the published layout (STFT 4096, max_bin 1487,
    3 BLSTM layers) and a small hidden size, every tensor randomised so nothing matches by chance."""
    from openunmix.model import OpenUnmix as Reference

    torch.manual_seed(seed)
    reference = Reference(nb_bins=2049, nb_channels=2, hidden_size=hidden_size, max_bin=1487)
    state = reference.state_dict()
    return {k: (v + torch.randn_like(v) * 0.1 if v.is_floating_point() else v) for k, v in state.items()}


def plant_hub_cache(torch_home: Path, name: str = "umxhq") -> dict[str, dict[str, torch.Tensor]]:
    """The published file names under $TORCH_HOME/hub/checkpoints/, where torch hub's loader looks first."""
    checkpoints = torch_home / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    planted = {}
    for k, target in enumerate(TARGETS):
        planted[target] = openunmix_state(k)
        torch.save(planted[target], checkpoints / published_file(name, target))
    return planted


def test_published_file_names_are_those_of_openunmix_loaders():
    import openunmix

    source = Path(openunmix.__file__).read_text()
    for name, spec in PUBLISHED_MODELS.items():
        for target, url in spec["urls"].items():
            assert f'"{target}": "{url}"' in source, (name, target)
        assert f"hidden_size={spec['hidden_size']}" in source[source.index(f"def {name}_spec"):]


def test_hub_cache_weights_load_strictly_and_separate_as_openunmix(tmp_path, monkeypatch):
    from openunmix.model import OpenUnmix as Reference

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    planted = plant_hub_cache(tmp_path)
    model, settings, path = load_published("umxhq", "drums")
    assert path == tmp_path / "hub" / "checkpoints" / "drums-9619578f.pth"
    ours = model.state_dict()
    assert torch.equal(ours["rnn.weight_hh_l2_reverse"], planted["drums"]["lstm.weight_hh_l2_reverse"])
    assert torch.equal(ours["input_mean"], planted["drums"]["input_mean"])
    assert settings["model"]["hidden_size"] == 8 and settings["stft"] == {"n_fft": 4096, "hop": 1024}
    # the same function as openunmix's model holding the planted weights
    reference = Reference(nb_bins=2049, nb_channels=2, hidden_size=8, max_bin=1487)
    reference.load_state_dict(planted["drums"], strict=True)
    x = torch.rand(1, 2, 2049, 12)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference.eval()(x), rtol=1e-5, atol=1e-6)


def test_offline_weights_folder_and_strict_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-hub"))
    folder = tmp_path / "weights"
    folder.mkdir()
    state = openunmix_state(3)
    torch.save(state, folder / "vocals.pth")
    model, _, path = load_published("umxl", "vocals", folder)
    assert path == folder / "vocals.pth" and torch.equal(model.state_dict()["fc3.weight"], state["fc3.weight"])
    with pytest.raises(PretrainedError, match="bass-2ca1ce51.pth"):
        load_published("umxl", "bass", folder)
    # a key openunmix's strict=False loader would skip silently
    torch.save({k: v for k, v in state.items() if k != "bn3.running_var"} | {"lstm.extra": torch.ones(1)}, folder / "drums.pth")
    with pytest.raises(PretrainedError, match=r"missing \['bn3.running_var'\], unexpected \['rnn.extra'\]"):
        load_published("umxl", "drums", folder)
    torch.save(openunmix_state(4) | {"input_mean": torch.zeros(2049)}, folder / "other.pth")
    with pytest.raises(PretrainedError, match="wrong shape"):
        load_published("umxl", "other", folder)


@pytest.mark.workflow
def test_published_variant_runs_to_the_boxplot_offline(tmp_path):
    """A `pretrained: umxhq` variant separated and evaluated by the same rules, no training, with
    the weights found in torch hub's cache layout (no internet)."""
    config = yaml.safe_load((ROOT / ".test" / "config.yaml").read_text())
    config["variants"]["umxhq"] = {"description": "published umxhq (planted small weights)", "pretrained": "umxhq"}
    config["evaluation"]["variants"] = ["umxhq"]
    workdir = workdir_with_config(tmp_path / "run", config)
    planted = plant_hub_cache(tmp_path / "torch")
    result = snakemake(workdir, "results/boxplot.pdf", "results/summary.md", env={"TORCH_HOME": str(tmp_path / "torch")})
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    log = result.stdout + result.stderr
    assert "rule train:" not in log and "rule pretrained_model:" in log
    weights = torch.load(workdir / "results/umxhq/bass.pth", weights_only=True)
    assert torch.equal(weights["rnn.weight_ih_l0"], planted["bass"]["lstm.weight_ih_l0"])
    summary = json.loads((workdir / "results/umxhq/bass.json").read_text())
    assert summary["pretrained"]["url"] == PUBLISHED_MODELS["umxhq"]["urls"]["bass"]
    assert summary["pretrained"]["file"] == str(tmp_path / "torch" / "hub" / "checkpoints" / "bass-8d85a5bd.pth")
    assert (workdir / "results/boxplot.pdf").read_bytes().startswith(b"%PDF")
    scores = pd.read_csv(workdir / "results/scores.csv")
    sdr = scores[(scores.variant == "umxhq") & (scores.metric == "SDR")]
    assert len(sdr) == 4 * 2 and np.isfinite(sdr["score"]).any()
    assert "| umxhq |" in (workdir / "results/summary.md").read_text()


def test_config_page_shows_a_published_variant_as_published(repo_root):
    from umxmr.report.config_page import config_html

    config = yaml.safe_load((repo_root / "config.yaml").read_text())
    config["variants"]["umxl"] = {"description": "published", "pretrained": "umxl", "weights": "/offline/umxl"}
    page = config_html(config, ["umx-mr-0", "umxl"])
    assert "variant umxl: published Open-Unmix model umxl" in page and "/offline/umxl" in page
    assert "variant umx-mr-0: resolved settings" in page


def test_no_internet_and_no_cache_says_what_to_do(tmp_path, monkeypatch):
    import urllib.error

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(PretrainedError, match=r"vocals-b62c91ce.pth is not in torch hub's cache .* set the variant's `weights`"):
        load_published("umxhq", "vocals")
