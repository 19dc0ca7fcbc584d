"""`umxmr-separate`: any audio file, any trained or published variant."""

from __future__ import annotations

import tomllib

import numpy as np
import soundfile as sf
import torch

from test_export import TARGETS, small_settings, write_trained
from test_pretrained import one_torch_thread, plant_hub_cache  # noqa: F401  (autouse fixture)
from umxmr.separation.cli import main
from umxmr.separation.separate import load_target_model, separate
from workflow_helpers import ROOT


def test_console_script_is_declared():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, function = scripts["umxmr-separate"].split(":")
    assert module == "umxmr.separation.cli" and function == "main"


def test_separates_a_trained_variant_at_any_rate_and_channel_count(tmp_path, capsys):
    settings = small_settings()
    summaries, weights = write_trained(tmp_path / "results" / "v", settings)
    rng = np.random.default_rng(0)
    stereo = (0.2 * rng.standard_normal((30000, 2))).astype(np.float32)
    sf.write(tmp_path / "song.wav", stereo, 44100, subtype="FLOAT")
    sf.write(tmp_path / "mono 22k.flac", 0.2 * rng.standard_normal(11025), 22050)
    out = tmp_path / "out"
    assert main(["--model", str(tmp_path / "results" / "v"), str(tmp_path / "song.wav"), str(tmp_path / "mono 22k.flac"), str(out)]) == 0
    # the song at 44.1 kHz stereo: exactly our separation with the variant's models (niter 1, windows of 300)
    models = {t: load_target_model(s, w, 44100, torch.device("cpu")) for t, s, w in zip(TARGETS, summaries, weights)}
    expected = separate(stereo, models, 1024, 256, niter=1, wiener_win_len=300)
    for target in TARGETS:
        audio, rate = sf.read(out / "song" / f"{target}.wav", dtype="float32", always_2d=True)
        assert rate == 44100 and audio.shape == stereo.shape
        np.testing.assert_array_equal(audio, expected[target].astype(np.float32))
        # mono 22.05 kHz in, mono 22.05 kHz out, same length
        info = sf.info(out / "mono 22k" / f"{target}.wav")
        assert (info.samplerate, info.channels, info.frames) == (22050, 1, 11025)
    assert str(out / "song") in capsys.readouterr().out


def test_bad_inputs_are_named(tmp_path, capsys):
    summaries, _ = write_trained(tmp_path / "v", small_settings())
    sf.write(tmp_path / "surround.wav", np.zeros((1000, 6), np.float32), 44100)
    assert main(["--model", str(tmp_path / "v"), str(tmp_path / "surround.wav"), str(tmp_path / "out")]) == 2
    assert "surround.wav: 6 channels" in capsys.readouterr().err
    assert main(["--model", str(tmp_path / "nowhere"), str(tmp_path / "surround.wav"), str(tmp_path / "out")]) == 2
    assert "neither a results folder" in capsys.readouterr().err


def test_separates_with_a_published_model_from_the_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    plant_hub_cache(tmp_path / "torch")
    sf.write(tmp_path / "song.wav", (0.1 * np.random.default_rng(1).standard_normal((8000, 2))).astype(np.float32), 44100)
    assert main(["--model", "umxhq", str(tmp_path / "song.wav"), str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out" / "song").iterdir()) == sorted(f"{t}.wav" for t in TARGETS)
