"""Training on tiny demo data: reproducible, resumable, fails fast on a bad loss."""

from __future__ import annotations

import json
import logging
import os
import signal

import pytest
import torch

import umxmr.training.train as train
from dataset_trees import demo_tracks
from umxmr.training.interrupt import Interrupted
from umxmr.settings import PUBLISHED_DEFAULTS, deep_merge

TINY = {
    "stft": {"n_fft": 1024, "hop": 256},
    "model": {"hidden_size": 8, "nb_layers": 2},
    "train": {"epochs": 3, "batch_size": 4, "seq_dur": 0.5, "samples_per_track": 4, "device": "cpu", "seed": 3},
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return demo_tracks(tmp_path_factory.mktemp("data") / "demo", n_valid=1, n_fft=1024, hop=256)


def settings(**train_over):
    return deep_merge(deep_merge(PUBLISHED_DEFAULTS, TINY), {"train": train_over})


def run(data, workdir, config=None, target="vocals"):
    tracks, stats = data
    return train.train_target(
        config or settings(),
        target,
        tracks,
        stats,
        checkpoint=workdir / "resume" / f"{target}.chkpnt",
        out_pth=workdir / f"{target}.pth",
        out_json=workdir / f"{target}.json",
        provenance={"commit": "abc1234", "seed": 3},
    )


def assert_same_weights(a, b):
    a, b = torch.load(a, weights_only=True), torch.load(b, weights_only=True)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_same_config_and_seed_give_identical_training(data, tmp_path):
    first = run(data, tmp_path / "a")
    second = run(data, tmp_path / "b")
    assert len(first["train_loss_history"]) == 3
    assert first["train_loss_history"] == second["train_loss_history"]
    assert first["valid_loss_history"] == second["valid_loss_history"]
    assert_same_weights(tmp_path / "a/vocals.pth", tmp_path / "b/vocals.pth")
    other_seed = run(data, tmp_path / "c", settings(seed=4))
    assert other_seed["train_loss_history"] != first["train_loss_history"]


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(data, tmp_path, monkeypatch):
    real = train._batch_loss
    calls = []

    def nan_in_second_epoch(*args, **kwargs):
        calls.append(1)
        loss = real(*args, **kwargs)
        # epoch 1: 2 training batches and 1 validation track; call 4 is epoch 2's first batch
        return loss * float("nan") if len(calls) == 4 else loss

    monkeypatch.setattr(train, "_batch_loss", nan_in_second_epoch)
    with pytest.raises(train.TrainingError, match=r"vocals: loss became nan \(train\) in epoch 2.*last good state"):
        run(data, tmp_path)
    state = torch.load(tmp_path / "resume/vocals.chkpnt", weights_only=False)
    assert state["epoch"] == 1 and len(state["history"]["train_loss"]) == 1
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
    assert not (tmp_path / "vocals.pth").exists() and not (tmp_path / "vocals.json").exists()


def test_flat_loss_is_reported(caplog):
    losses = [5.0, 4.0, 3.0, 2.5, 2.0, 2.0001, 2.0002, 2.0]
    with caplog.at_level(logging.WARNING, logger="umxmr.training.train"):
        train.report_flat_loss(train.History(train_loss=losses[:4]), 4)
        assert caplog.text == ""  # 5 .. 2.5 is learning
        train.report_flat_loss(train.History(train_loss=losses), 0)
        assert caplog.text == ""  # 0 turns the check off
        train.report_flat_loss(train.History(train_loss=losses), 4)
    assert "train loss flat for 4 epochs (2 .. 2.0002)" in caplog.text


def test_epoch_batches_cover_every_sample_once_and_depend_on_the_epoch():
    batches = train.epoch_batches(10, 4, seed=1, epoch=3)
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(sum(batches, [])) == list(range(10))
    assert batches == train.epoch_batches(10, 4, seed=1, epoch=3)
    assert batches != train.epoch_batches(10, 4, seed=1, epoch=4)


def test_checkpoint_of_other_settings_is_ignored(data, tmp_path, caplog):
    run(data, tmp_path, settings(epochs=1))
    with caplog.at_level(logging.WARNING, logger="umxmr.training.train"):
        summary = run(data, tmp_path, settings(epochs=1, lr=0.01))
    assert "written for other settings" in caplog.text
    assert summary["epochs_trained"] == 1


def test_summary_has_open_unmix_keys_and_provenance(data, tmp_path):
    summary = run(data, tmp_path, settings(epochs=1))
    on_disk = json.loads((tmp_path / "vocals.json").read_text())
    assert on_disk == json.loads(json.dumps(summary))
    assert {"epochs_trained", "args", "best_loss", "best_epoch", "train_loss_history", "valid_loss_history",
            "train_time_history", "num_bad_epochs", "commit"} <= set(on_disk)
    assert on_disk["provenance"]["device"] == "cpu" and on_disk["commit"] == "abc1234"


@pytest.mark.parametrize("signum, at_call", [(signal.SIGTERM, 2), (signal.SIGUSR1, 4), (signal.SIGTERM, 3)])
def test_stop_signal_checkpoints_the_batch_and_resume_ends_equal(data, tmp_path, monkeypatch, signum, at_call):
    """Calls per epoch: 2 training batches then 1 validation track. Call 2 ends epoch 1's
    training (stop after the epoch), call 3 is validation, call 4 is mid-epoch 2."""
    config = settings(epochs=3)
    expected = run(data, tmp_path / "uninterrupted", config)

    real = train._batch_loss
    calls = []

    def signal_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == at_call:
            os.kill(os.getpid(), signum)
        return real(*args, **kwargs)

    monkeypatch.setattr(train, "_batch_loss", signal_once)
    handler_before = signal.getsignal(signum)
    with pytest.raises(Interrupted, match="run the job again"):
        run(data, tmp_path / "stopped", config)
    state = torch.load(tmp_path / "stopped/resume/vocals.chkpnt", weights_only=False)
    if at_call == 4:
        assert (state["epoch"], state["progress"]["batches"]) == (1, 1)  # inside epoch 2
    else:
        assert (state["epoch"], state["progress"]["batches"]) == (1, 0)  # end of epoch 1
    assert signal.getsignal(signum) == handler_before  # handlers restored
    monkeypatch.setattr(train, "_batch_loss", real)
    resumed = run(data, tmp_path / "stopped", config)
    for key in ("train_loss_history", "valid_loss_history", "best_loss", "best_epoch", "num_bad_epochs"):
        assert resumed[key] == expected[key], key
    assert_same_weights(tmp_path / "stopped/vocals.pth", tmp_path / "uninterrupted/vocals.pth")
