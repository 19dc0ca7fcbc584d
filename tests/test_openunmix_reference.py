"""umx-mr-0 is Open-Unmix: checked against the `openunmix` 1.3.0 package itself.

The package is a test-only dependency (installed --no-deps; conftest.py stubs torchaudio).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import sklearn.preprocessing
import torch

openunmix_model = pytest.importorskip("openunmix.model")
openunmix_transforms = pytest.importorskip("openunmix.transforms")
openunmix_utils = pytest.importorskip("openunmix.utils")
openunmix_data = pytest.importorskip("openunmix.data")

from umxmr.models.registry import build_model  # noqa: E402
from umxmr.models.openunmix import from_openunmix_state_dict  # noqa: E402
from umxmr.settings import PUBLISHED_DEFAULTS, deep_merge  # noqa: E402
from umxmr.training.train import EarlyStopping  # noqa: E402
from umxmr.models.transforms import ISTFT, STFT, bandwidth_to_max_bin, magnitude  # noqa: E402


def small_settings(**model):
    """Published settings, smaller sizes so the comparison runs in a second."""
    return deep_merge(
        PUBLISHED_DEFAULTS,
        {"stft": {"n_fft": 512, "hop": 128}, "model": {"hidden_size": 32, "bandwidth": 8000, **model}},
    )


def twin_models(settings, seed=0):
    """Our model and openunmix's with the same weights (openunmix's random init copied into ours)."""
    torch.manual_seed(seed)
    stft, model = settings["stft"], settings["model"]
    nb_bins = stft["n_fft"] // 2 + 1
    max_bin = bandwidth_to_max_bin(44100, stft["n_fft"], model["bandwidth"])
    mean, scale = np.random.default_rng(seed).random((2, nb_bins)) + 0.5
    theirs = openunmix_model.OpenUnmix(
        nb_bins=nb_bins,
        nb_channels=model["nb_channels"],
        hidden_size=model["hidden_size"],
        nb_layers=model["nb_layers"],
        max_bin=int(max_bin),
        input_mean=mean,
        input_scale=scale,
    )
    # non-trivial output affine and batch-norm statistics, so the mapping is really tested
    with torch.no_grad():
        theirs.output_scale.uniform_(0.5, 1.5)
        theirs.output_mean.uniform_(0.5, 1.5)
        for bn in (theirs.bn1, theirs.bn2, theirs.bn3):
            bn.running_mean.uniform_(-0.1, 0.1)
            bn.running_var.uniform_(0.8, 1.2)
    ours = build_model(settings, 44100.0)
    ours.load_state_dict(from_openunmix_state_dict(theirs.state_dict()))
    return ours, theirs


def test_parameter_count_equals_openunmix_at_published_defaults():
    ours = build_model(PUBLISHED_DEFAULTS, 44100.0)
    theirs = openunmix_model.OpenUnmix(nb_bins=2049, nb_channels=2, hidden_size=512, nb_layers=3, max_bin=1487)
    count = sum(p.numel() for p in ours.parameters())
    assert count == sum(p.numel() for p in theirs.parameters()) == 8_893_348
    # the same tensors under the documented name mapping (lstm.* -> rnn.*)
    mapped = from_openunmix_state_dict(theirs.state_dict())
    assert {k: v.shape for k, v in mapped.items()} == {k: v.shape for k, v in ours.state_dict().items()}


def test_published_size_state_dict_loads_and_gives_equal_outputs():
    ours, theirs = twin_models(PUBLISHED_DEFAULTS)
    x = torch.rand(1, 2, 2049, 12)
    with torch.no_grad():
        assert torch.allclose(ours.eval()(x), theirs.eval()(x), atol=1e-5)


@pytest.mark.parametrize("nb_channels", [1, 2])
def test_eval_outputs_equal_openunmix(nb_channels):
    ours, theirs = twin_models(small_settings(nb_channels=nb_channels))
    x = torch.rand(3, nb_channels, 257, 20) * 2
    with torch.no_grad():
        expected = theirs.eval()(x)
        got = ours.eval()(x)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1e-5)
    assert expected.abs().max() > 0.1  # not a trivially zero output


def test_training_forward_loss_and_adam_step_equal_openunmix():
    """Train mode (batch statistics, recurrent dropout) and one optimiser step agree too."""
    ours, theirs = twin_models(small_settings(nb_layers=3))
    ours.train(), theirs.train()
    x, y = torch.rand(4, 2, 257, 16), torch.rand(4, 2, 257, 16)
    optims = [torch.optim.Adam(m.parameters(), lr=1e-3, weight_decay=1e-5) for m in (ours, theirs)]
    losses = []
    for model, optim in zip((ours, theirs), optims):
        torch.manual_seed(123)  # the same dropout masks in both
        loss = torch.nn.functional.mse_loss(model(x), y)
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
    assert losses[0] == pytest.approx(losses[1], abs=1e-6)
    grads_theirs = from_openunmix_state_dict({n: p.grad for n, p in theirs.named_parameters()})
    for name, param in ours.named_parameters():
        assert torch.allclose(param.grad, grads_theirs[name], atol=1e-5), name
    after_theirs = from_openunmix_state_dict(theirs.state_dict())
    for name, value in ours.state_dict().items():
        assert torch.allclose(value.float(), after_theirs[name].float(), atol=1e-6), name


@pytest.mark.parametrize("center", [False, True])
@pytest.mark.parametrize("n_fft, hop", [(4096, 1024), (512, 128)])
def test_stft_and_istft_equal_openunmix(center, n_fft, hop):
    torch.manual_seed(1)
    audio = torch.randn(2, 2, 44100 // 2 + 77)
    theirs_stft = openunmix_transforms.TorchSTFT(n_fft=n_fft, n_hop=hop, center=center)
    theirs_istft = openunmix_transforms.TorchISTFT(n_fft=n_fft, n_hop=hop, center=center)
    spec = STFT(n_fft, hop, center=center)(audio)
    expected = theirs_stft(audio)  # (..., 2) real view
    assert torch.equal(torch.view_as_real(spec), expected)
    assert torch.allclose(magnitude(spec), openunmix_transforms.ComplexNorm()(expected))
    assert torch.allclose(magnitude(spec, mono=True), openunmix_transforms.ComplexNorm(mono=True)(expected))
    if not center:
        # the periodic Hann window is 0 at the first sample: torch's istft refuses an
        # uncentred inverse ("window overlap add min") in both implementations alike
        for inverse, arg in ((ISTFT(n_fft, hop, center=False), spec), (theirs_istft, expected)):
            with pytest.raises(RuntimeError, match="window overlap add min"):
                inverse(arg)
        return
    ours_audio = ISTFT(n_fft, hop, center=True)(spec, length=audio.shape[-1])
    theirs_audio = theirs_istft(expected, length=audio.shape[-1])
    assert torch.allclose(ours_audio, theirs_audio, atol=1e-6)
    assert torch.allclose(ours_audio, audio, atol=1e-5)


def test_max_bin_equals_openunmix():
    for rate, n_fft, bandwidth in [(44100, 4096, 16000), (44100, 8192, 16000), (22050, 1024, 5000)]:
        assert bandwidth_to_max_bin(rate, n_fft, bandwidth) == openunmix_utils.bandwidth_to_max_bin(rate, n_fft, bandwidth)


@pytest.mark.parametrize(
    "losses",
    [
        [5.0, 4.0, 4.0, 4.5, 3.0, 3.1, 3.2, 3.3, 3.0, 2.9, 3.5, 3.6, 3.7],
        [1.0, 2.0, 3.0, 4.0, 5.0],
        list(np.random.default_rng(3).random(60)),
    ],
)
@pytest.mark.parametrize("patience", [1, 3, 10])
def test_early_stopping_follows_openunmix(losses, patience):
    ours = EarlyStopping(patience=patience)
    theirs = openunmix_utils.EarlyStopping(mode="min", min_delta=0, patience=patience)
    for value in losses:
        assert ours.step(value) == theirs.step(value)
        assert (ours.best, ours.num_bad_epochs) == (theirs.best, theirs.num_bad_epochs)


def _augment_with(path: str):
    """Our gain and channel swap of one (nb_timesteps, nb_channels) excerpt, on either data path."""
    from umxmr.data.dataset import augment_channelswap, augment_gain, mix_on_device

    if path == "loader":
        rng = np.random.default_rng(0)
        return (lambda audio: augment_gain(audio, rng)), (lambda audio: augment_channelswap(audio, rng))
    generator = torch.Generator().manual_seed(0)

    def on_device(name):
        # one item of one source through the on-device path, back to (nb_timesteps, nb_channels)
        def apply(audio):
            stems = torch.from_numpy(np.ascontiguousarray(audio.T))[None, None]
            return mix_on_device(stems, 0, [name], False, generator)[1][0].numpy().T
        return apply

    return on_device("gain"), on_device("channelswap")


@pytest.mark.parametrize("path", ["loader", "device"])
def test_augmentations_have_openunmix_distributions(path):
    augment_gain, augment_channelswap = _augment_with(path)
    n = 4000
    audio = np.ones((10, 2), dtype=np.float32) * np.array([1.0, -1.0], dtype=np.float32)
    ours_gain = np.array([augment_gain(audio)[0, 0] for _ in range(n)])
    torch.manual_seed(0)
    theirs_gain = np.array([openunmix_data._augment_gain(torch.ones(2, 10))[0, 0].item() for _ in range(n)])
    for gains in (ours_gain, theirs_gain):
        assert 0.25 <= gains.min() and gains.max() < 1.25
        # uniform on [0.25, 1.25): mean 0.75, std 1/sqrt(12)
        assert gains.mean() == pytest.approx(0.75, abs=0.02)
        assert gains.std() == pytest.approx(12**-0.5, abs=0.02)
    ours_swaps = np.mean([augment_channelswap(audio)[0, 0] == -1.0 for _ in range(n)])
    theirs_swaps = np.mean(
        [openunmix_data._augment_channelswap(torch.tensor(audio.T))[0, 0].item() == -1.0 for _ in range(n)]
    )
    assert ours_swaps == pytest.approx(0.5, abs=0.03) and theirs_swaps == pytest.approx(0.5, abs=0.03)
    # mono audio is never swapped, in both
    assert np.array_equal(augment_channelswap(audio[:, :1]), audio[:, :1])


def test_published_defaults_are_open_unmix_scripts_train_values():
    """The documented values of open-unmix's scripts/train.py and model.py (v1.3.0)."""
    assert PUBLISHED_DEFAULTS["stft"] == {"n_fft": 4096, "hop": 1024}
    model = PUBLISHED_DEFAULTS["model"]
    assert (model["hidden_size"], model["nb_layers"], model["unidirectional"]) == (512, 3, False)
    assert (model["bandwidth"], model["nb_channels"], model["rnn"], model["rnn_dropout"]) == (16000, 2, "lstm", 0.4)
    assert (model["act_before_bn"], model["bn3"], model["output_mean_init"]) == (False, True, 1.0)
    assert (model["first_layer"], model["output_activation"]) == ("linear", "relu")
    train = PUBLISHED_DEFAULTS["train"]
    expected = {
        "epochs": 1000,
        "batch_size": 16,
        "lr": 0.001,
        "weight_decay": 0.00001,
        "lr_decay_patience": 80,
        "lr_decay_gamma": 0.3,
        "lr_decay_cooldown": 10,
        "patience": 140,
        "seq_dur": 6.0,
        "samples_per_track": 64,
        "seed": 42,
        "source_augmentations": ["gain", "channelswap"],
        "random_track_mix": True,
    }
    assert {k: train[k] for k in expected} == expected
    # openunmix's model defaults agree with ours
    theirs = openunmix_model.OpenUnmix()
    assert theirs.hidden_size == model["hidden_size"]
    assert (theirs.lstm.num_layers, theirs.lstm.dropout, theirs.lstm.bidirectional) == (3, 0.4, True)


def test_training_builds_the_published_optimiser_and_scheduler(monkeypatch, tmp_path):
    """train_target hands the published values to Adam and ReduceLROnPlateau."""
    import umxmr.training.train as train

    seen = {}

    class Stop(Exception):
        pass

    def spy_plateau(optimizer, **kwargs):
        seen["optimizer"] = optimizer
        seen["scheduler"] = kwargs
        raise Stop

    monkeypatch.setattr(torch.optim.lr_scheduler, "ReduceLROnPlateau", spy_plateau)
    settings = copy.deepcopy(PUBLISHED_DEFAULTS)
    settings["model"]["hidden_size"] = 8

    class Track:
        rate = 44100

    with pytest.raises(Stop):
        train.train_target(settings, "vocals", {"train": [Track()], "valid": []}, (None, None),
                           tmp_path / "c", tmp_path / "p", tmp_path / "j")
    optimizer = seen["optimizer"]
    assert isinstance(optimizer, torch.optim.Adam)
    assert optimizer.defaults["lr"] == 1e-3 and optimizer.defaults["weight_decay"] == 1e-5
    assert seen["scheduler"] == {"factor": 0.3, "patience": 80, "cooldown": 10}


def test_statistics_equal_an_independent_standard_scaler(tmp_path):
    """dataset_statistics = StandardScaler over mono magnitudes of full mixtures, std floored."""
    from umxmr.data.audio import read_audio
    from umxmr.data.demo import generate_demo
    from umxmr.data.layout import scan_musdb_layout
    from umxmr.training.stats import dataset_statistics

    root = tmp_path / "demo"
    generate_demo(root, n_train=2, n_valid=1, n_test=1, duration=2.0, seed=3)
    tracks = scan_musdb_layout(root, "setup.yaml")["train"]
    mean, std = dataset_statistics(tracks, 1024, 256)

    # independently: openunmix's transforms, all frames at once, scikit-learn's scaler
    stft = openunmix_transforms.TorchSTFT(n_fft=1024, n_hop=256, center=False)
    norm = openunmix_transforms.ComplexNorm(mono=True)
    frames = []
    for track in tracks:
        audio = torch.from_numpy(read_audio(track.path("mixture")).T.copy())[None]
        frames.append(norm(stft(audio))[0, 0].T.numpy())
    scaler = sklearn.preprocessing.StandardScaler().fit(np.concatenate(frames))
    expected_std = np.maximum(scaler.scale_, 1e-4 * scaler.scale_.max())
    assert mean.shape == std.shape == (513,)
    np.testing.assert_allclose(mean, scaler.mean_, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(std, expected_std, rtol=1e-4, atol=1e-7)
    assert std.min() >= 1e-4 * std.max() - 1e-12
