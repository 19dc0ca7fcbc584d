"""`train.data_path: device`: the stems are mixed and augmented on the training device, with
open-unmix's distributions (the gain and swap ones are in test_openunmix_reference.py), and a
training on it is reproducible and resumes exactly."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
import soundfile as sf
import torch

import umxmr.training.train as train
from test_train import assert_same_weights, data, run, settings  # noqa: F401
from umxmr.data.dataset import ExcerptDataset, mix_on_device, stack_stems
from umxmr.data.layout import scan_trackfolder
from umxmr.training.interrupt import Interrupted

STEMS = {name: f"{name}.wav" for name in ("mixture", "vocals", "drums", "bass", "other")}
NB_TRACKS, FRAMES, SEQ_DUR = 4, 8820, 0.02  # 0.2 s tracks, excerpts of 882 frames


@pytest.fixture(scope="module")
def labelled_tracks(tmp_path_factory):
    """Tracks whose every stem tells where it came from: right channel (k + 1) / 8 for track k,
    left channel the frame's position t / FRAMES (float WAV, exact)."""
    root = tmp_path_factory.mktemp("labelled")
    for split, names in {"train": [f"t{k}" for k in range(NB_TRACKS)] + ["v"], "test": ["x"]}.items():
        for k, name in enumerate(names):
            folder = root / split / name
            folder.mkdir(parents=True)
            audio = np.stack([np.arange(FRAMES) / FRAMES, np.full(FRAMES, (k + 1) / 8)], axis=1)
            for stem in STEMS.values():
                sf.write(folder / stem, audio, 44100, subtype="FLOAT")
    return scan_trackfolder(root, STEMS, ["v"])["train"]


def target_origins(path: str, tracks) -> tuple[np.ndarray, np.ndarray]:
    """(track index, start as a fraction of the possible range) of every target excerpt of one
    epoch, drawn the way training draws them on `path`."""
    data = ExcerptDataset(tracks, "vocals", SEQ_DUR, 150, [], True, seed=7, stems=path == "device")
    data.epoch = 1
    targets = []
    for number, batch in enumerate(train.epoch_batches(len(data), 16, seed=7, epoch=1)):
        if path == "loader":
            targets += [data[i][1] for i in batch]
        else:
            loaded = torch.utils.data.default_collate([data[i] for i in batch])  # as the DataLoader
            stems = stack_stems(loaded, torch.device("cpu"))
            generator = train.batch_generator(torch.device("cpu"), 7, 1, number)
            targets += list(mix_on_device(stems, 0, [], True, generator)[1])
    targets = torch.stack(targets)
    track = (targets[:, 1, 0] * 8).round().long().numpy() - 1
    start = targets[:, 0, 0].numpy() * FRAMES / (FRAMES - data.seq_frames)
    return track, start


@pytest.mark.parametrize("path", ["loader", "device"])
def test_random_track_mix_draws_tracks_and_starts_uniformly(labelled_tracks, path):
    """open-unmix: each source from `random.choice(tracks)`, start `uniform(0, duration - seq)`."""
    track, start = target_origins(path, labelled_tracks)
    assert len(track) == NB_TRACKS * 150
    shares = np.bincount(track, minlength=NB_TRACKS) / len(track)  # standard error 0.018
    assert shares == pytest.approx(np.full(NB_TRACKS, 1 / NB_TRACKS), abs=0.06)
    assert 0 <= start.min() and start.max() < 1
    # standard errors 0.012 (mean) and ~0.007 (std) for 600 draws
    assert start.mean() == pytest.approx(0.5, abs=0.04) and start.std() == pytest.approx(12**-0.5, abs=0.03)


def test_device_path_mixes_the_sum_of_the_augmented_sources():
    stems = torch.rand(8, 4, 2, 100, generator=torch.Generator().manual_seed(1))
    mixture, target = mix_on_device(stems, 2, ["gain", "channelswap"], True, torch.Generator().manual_seed(2))
    again = mix_on_device(stems, 2, ["gain", "channelswap"], True, torch.Generator().manual_seed(2))
    assert torch.equal(mixture, again[0]) and torch.equal(target, again[1])  # a pure function of the generator
    # every target is some item's bass stem, scaled by a gain in [0.25, 1.25), maybe swapped
    for item in target:
        ratios = [item / candidate for candidate in (stems[:, 2], stems[:, 2].flip(1))]
        assert any(((r - r.flatten()[0]).abs() < 1e-5).all() and 0.25 <= r.flatten()[0] < 1.25
                   for ratio in ratios for r in ratio)
    with pytest.raises(ValueError, match="train.source_augmentations: unknown \\['pitch'\\]"):
        mix_on_device(stems, 0, ["pitch"], True, torch.Generator())


def test_training_on_the_device_path_resumes_equal(data, tmp_path, monkeypatch):  # noqa: F811
    config = settings(epochs=2, data_path="device")
    expected = run(data, tmp_path / "uninterrupted", config)
    assert expected["train_loss_history"] != run(data, tmp_path / "loader", settings(epochs=2))["train_loss_history"]
    real, calls = train._batch_loss, []

    def signal_mid_epoch_2(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:  # 2 batches and 1 validation track per epoch: epoch 2's first batch
            os.kill(os.getpid(), signal.SIGUSR1)
        return real(*args, **kwargs)

    monkeypatch.setattr(train, "_batch_loss", signal_mid_epoch_2)
    with pytest.raises(Interrupted):
        run(data, tmp_path / "stopped", config)
    monkeypatch.setattr(train, "_batch_loss", real)
    resumed = run(data, tmp_path / "stopped", config)
    assert resumed["train_loss_history"] == expected["train_loss_history"]
    assert_same_weights(tmp_path / "stopped/vocals.pth", tmp_path / "uninterrupted/vocals.pth")
