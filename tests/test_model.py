"""Model shapes and the published architecture."""

from __future__ import annotations

import pytest
import torch

from umxmr.models.registry import build_model
from umxmr.settings import PUBLISHED_DEFAULTS, deep_merge


@pytest.fixture(params=[1, 2])
def nb_channels(request):
    return request.param


def tiny(**model):
    return deep_merge(PUBLISHED_DEFAULTS, {"stft": {"n_fft": 512, "hop": 128}, "model": {"hidden_size": 16, "nb_layers": 1, **model}})


def test_forward_shape_equals_input(nb_channels):
    model = build_model(tiny(nb_channels=nb_channels), 44100.0).eval()
    x = torch.rand(2, nb_channels, 257, 11)
    y = model(x)
    assert y.shape == x.shape
    assert torch.all(y >= 0)


def test_bandwidth_crops_the_input():
    model = build_model(tiny(bandwidth=8000), 44100.0)
    assert model.nb_bins == 93 and model.nb_output_bins == 257
    assert model.fc1.in_features == 93 * 2


def test_published_model_size_and_layers():
    model = build_model(PUBLISHED_DEFAULTS, 44100.0)
    assert model.nb_bins == 1487 and model.nb_output_bins == 2049
    assert isinstance(model.rnn, torch.nn.LSTM)
    assert (model.rnn.num_layers, model.rnn.hidden_size, model.rnn.bidirectional, model.rnn.dropout) == (3, 256, True, 0.4)
    assert sum(p.numel() for p in model.parameters()) == 8_893_348


def test_output_is_a_product_with_the_mixture():
    model = build_model(tiny(), 44100.0).eval()
    x = torch.rand(1, 2, 257, 7)
    x[..., 3] = 0
    assert torch.all(model(x)[..., 3] == 0)


def test_statistics_initialise_the_input_layer():
    mean, std = torch.linspace(0, 1, 257).numpy(), torch.linspace(1, 2, 257).numpy()
    model = build_model(tiny(), 44100.0, mean, std)
    assert torch.allclose(model.input_mean, -torch.from_numpy(mean[: model.nb_bins]).float())
    assert torch.allclose(model.input_scale, 1 / torch.from_numpy(std[: model.nb_bins]).float())
