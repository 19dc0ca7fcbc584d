"""train.valid_sdr: the validation SDR a training records is museval's own SDR of an estimate
rebuilt here without the project's transforms; it changes nothing of the training (early stopping
and the best epoch follow the loss), survives a stop and resume, and costs nothing when off."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest
import scipy.signal
import soundfile as sf
import torch

import umxmr.training.train as train
from dataset_trees import demo_tracks
from umxmr.evaluation.museval_import import import_museval
from umxmr.models.registry import build_model
from umxmr.settings import with_valid_sdr_window
from umxmr.training.interrupt import Interrupted
from umxmr.training.valid_sdr import ValidSdr, sdr_due, track_sdr

from test_train import TINY, run, settings

# the tiny recipe and the training call of tests/test_train.py
N_FFT, HOP = TINY["stft"]["n_fft"], TINY["stft"]["hop"]
RATE = 44100  # the demo generator's; museval's 1 s window is RATE samples

pytestmark = pytest.mark.usefixtures("one_blas_thread")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    # three validation tracks: the median over tracks is a real median
    return demo_tracks(tmp_path_factory.mktemp("data") / "demo", n_valid=3, n_fft=N_FFT, hop=HOP)


def rebuilt_estimate(model: torch.nn.Module, mixture: np.ndarray) -> np.ndarray:
    """|model| with the mixture's phase, no Wiener filter, without the project's transforms: the
    model reads torch.stft's centred magnitude (as openunmix's Separator feeds it); the phase is
    scipy's STFT of the float64 mixture, the audio scipy's inverse STFT. (nsampl, nchan) float64."""
    audio = torch.from_numpy(np.ascontiguousarray(mixture.T, dtype=np.float32))
    spec = torch.stft(audio, N_FFT, HOP, window=torch.hann_window(N_FFT), center=True, pad_mode="reflect", return_complex=True)
    with torch.no_grad():
        magnitude = model(spec.abs()[None])[0].double().numpy()
    window = scipy.signal.get_window("hann", N_FFT)  # periodic, as torch.hann_window
    # boundary "even" is the reflection (edge sample not repeated) of torch's centred STFT
    _, _, mix = scipy.signal.stft(mixture.T, window=window, nperseg=N_FFT, noverlap=N_FFT - HOP, boundary="even", padded=False)
    assert mix.shape == magnitude.shape
    # scipy's STFT is scaled by 1 / sum(window) and its inverse undoes that: unscale first
    estimate = magnitude * np.exp(1j * np.angle(mix)) / window.sum()
    with np.errstate(all="ignore"), pytest.warns(UserWarning, match="NOLA"):  # the padded edges, cut below
        _, out = scipy.signal.istft(estimate, window=window, nperseg=N_FFT, noverlap=N_FFT - HOP, boundary=False)
    # without boundary the output starts N_FFT // 2 samples before the track, as the centred frames do
    return out[:, N_FFT // 2 : N_FFT // 2 + len(mixture)].T


def test_recorded_sdr_is_museval_on_an_independent_estimate_and_changes_no_training(data, tmp_path):
    museval = import_museval()
    tracks, stats = data
    config = settings(valid_sdr=True, valid_sdr_every=2)
    summary = run(data, tmp_path / "on", config)
    history = summary["valid_sdr_history"]
    # every 2nd epoch and the last (train.epochs = 3); epoch 1 not computed
    assert history[0] is None and all(isinstance(v, float) for v in history[1:]) and len(history) == 3
    on_disk = json.loads((tmp_path / "on/vocals.json").read_text())
    assert on_disk["valid_sdr_history"] == history

    # the last epoch's weights are the checkpoint's
    model = build_model(config, RATE, *stats)
    model.load_state_dict(torch.load(tmp_path / "on/resume/vocals.chkpnt", weights_only=False)["model"])
    model.eval()
    per_track = []
    for track in tracks["valid"]:
        mixture, rate = sf.read(track.path("mixture"), dtype="float64", always_2d=True)
        reference, _ = sf.read(track.path("vocals"), dtype="float64", always_2d=True)
        estimate = rebuilt_estimate(model, mixture)
        ours = ValidSdr(config, rate, torch.device("cpu")).estimate(model, torch.from_numpy(mixture.T.astype(np.float32)))
        assert np.max(np.abs(ours.numpy().T - estimate)) <= 1e-9 * np.max(np.abs(estimate))
        # museval alone on this one target: the silence mask of this reference and this estimate
        frames = museval.evaluate([reference], [estimate], win=rate, hop=rate)[0][0]
        assert np.isfinite(frames).any()
        per_track.append(np.nanmedian(frames))
    assert abs(history[-1] - float(np.median(per_track))) <= 1e-6

    # the SDR only observes: the same losses, best epoch and weights as without it
    off = run(data, tmp_path / "off", settings())
    for key in ("train_loss_history", "valid_loss_history", "best_loss", "best_epoch"):
        assert summary[key] == off[key], key
    a, b = torch.load(tmp_path / "on/vocals.pth", weights_only=True), torch.load(tmp_path / "off/vocals.pth", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_off_computes_no_sdr_writes_no_key_and_keeps_the_recipe(data, tmp_path, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("validation SDR computed with train.valid_sdr off")

    monkeypatch.setattr(ValidSdr, "__init__", never)
    summary = run(data, tmp_path, settings(epochs=1, valid_sdr=False, valid_sdr_every=3))
    assert "valid_sdr_history" not in summary
    assert "valid_sdr_history" not in json.loads((tmp_path / "vocals.json").read_text())
    # off, the keys leave the checkpoint's recipe as it was before they existed; on, they count
    plain = train.recipe_hash(settings(epochs=1), "vocals")
    assert summary["provenance"]["recipe"] == plain
    assert plain == train.settings_hash({**settings(epochs=1), "target": "vocals"})  # the hash as before the keys
    on = train.recipe_hash(settings(epochs=1, valid_sdr=True), "vocals")
    assert on != plain and on == train.recipe_hash(settings(epochs=1, valid_sdr=True, valid_sdr_every=5), "vocals")
    assert train.recipe_hash(settings(epochs=1, valid_sdr=True, valid_sdr_every=2), "vocals") != on


def test_early_stopping_and_best_epoch_follow_the_loss_when_the_sdr_disagrees(data, tmp_path, monkeypatch):
    # the loss is best at epoch 2 and stops the run at epoch 4 (patience 2); the SDR improves all along
    losses = [3.0, 2.0, 2.5, 2.6]
    sdrs = iter([1.0, 9.0])
    calls = {"validate": 0}

    def fake_validate(*args, **kwargs):
        calls["validate"] += 1
        return losses[(calls["validate"] - 1) % len(losses)]

    monkeypatch.setattr(train, "validate", fake_validate)
    monkeypatch.setattr(ValidSdr, "__call__", lambda self, model, tracks: (next(sdrs), []))
    config = settings(epochs=10, patience=2, valid_sdr=True, valid_sdr_every=3)
    summary = run(data, tmp_path / "on", config)
    assert summary["valid_loss_history"] == losses and summary["epochs_trained"] == 4
    # epoch 3 by the schedule, epoch 4 as the run's last (early stopping)
    assert summary["valid_sdr_history"] == [None, None, 1.0, 9.0]
    assert summary["best_epoch"] == 2 and summary["best_loss"] == 2.0
    off = run(data, tmp_path / "off", settings(epochs=10, patience=2))
    assert (off["best_epoch"], off["epochs_trained"]) == (2, 4)
    a, b = torch.load(tmp_path / "on/vocals.pth", weights_only=True), torch.load(tmp_path / "off/vocals.pth", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)  # the kept weights are epoch 2's in both


def test_stop_and_resume_keep_the_sdr_history(data, tmp_path, monkeypatch):
    """Calls of the batch loss per epoch: 2 training batches, then 3 validation tracks; call 6 is
    the first batch of epoch 2, so the stop comes inside epoch 2, after epoch 1's SDR."""
    config = settings(epochs=3, valid_sdr=True, valid_sdr_every=1)
    expected = run(data, tmp_path / "uninterrupted", config)
    real = train._batch_loss
    calls = []

    def signal_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 6:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(*args, **kwargs)

    monkeypatch.setattr(train, "_batch_loss", signal_once)
    with pytest.raises(Interrupted):
        run(data, tmp_path / "stopped", config)
    state = torch.load(tmp_path / "stopped/resume/vocals.chkpnt", weights_only=False)
    assert (state["epoch"], state["progress"]["batches"]) == (1, 1)
    assert state["history"]["valid_sdr"] == expected["valid_sdr_history"][:1]
    monkeypatch.setattr(train, "_batch_loss", real)
    resumed = run(data, tmp_path / "stopped", config)
    assert resumed["valid_sdr_history"] == expected["valid_sdr_history"]
    assert None not in resumed["valid_sdr_history"]
    assert resumed["valid_loss_history"] == expected["valid_loss_history"]


def test_schedule_and_the_window_from_the_evaluation():
    assert [e for e in range(1, 13) if sdr_due(e, 5, e == 12)] == [5, 10, 12]
    assert [e for e in range(1, 8) if sdr_due(e, 1, e == 7)] == list(range(1, 8))
    config = {"evaluation": {"win": 2.0, "hop": 0.5}}
    on = with_valid_sdr_window(settings(valid_sdr=True), config)
    assert on["train"]["valid_sdr_window"] == [2.0, 0.5]
    assert with_valid_sdr_window(settings(), config) == settings()  # off: the job's settings as they were
    sdr = ValidSdr(on, 8000, torch.device("cpu"))
    assert (sdr.win, sdr.hop_samples) == (16000, 4000)  # museval's int(seconds * rate)


def test_a_track_without_sdr_is_left_out_not_fatal():
    rng = np.random.default_rng(0)
    sound, silence = rng.standard_normal((3 * 8000, 2)), np.zeros((3 * 8000, 2))
    assert np.isnan(track_sdr(silence, sound, 8000, 8000))  # museval refuses a silent reference
    assert np.isnan(track_sdr(sound, silence, 8000, 8000))  # an untrained model may give silence
    assert track_sdr(sound, 0.5 * sound, 8000, 8000) == pytest.approx(10 * np.log10(4.0))
