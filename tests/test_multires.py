"""umx-mr-4 (three STFT resolutions) and umx-mr-7 (NSGT) models and their front ends."""

from __future__ import annotations

import pytest
import torch

from umxmr.models.registry import build_frontend, build_model
from umxmr.models.multires import MultiResUnmix
from umxmr.resolutions import stft_resolutions
from umxmr.settings import PUBLISHED_DEFAULTS, deep_merge
from umxmr.models.transforms import STFT, magnitude

RATE = 44100.0
N_FFT, HOP = 512, 128


def multires(scale_factor, **model):
    return deep_merge(
        PUBLISHED_DEFAULTS,
        {
            "stft": {"n_fft": N_FFT, "hop": HOP},
            "model": {"architecture": "multires", "scale_factor": scale_factor, "hidden_size": 16, "nb_layers": 1, "rnn": "gru", **model},
        },
    )


def nsgt_settings():
    nsgt = {"fmin": 65.4, "fmax": 22000.0, "bins_per_octave": 6, "frame_pool": 16}
    return deep_merge(PUBLISHED_DEFAULTS, {"stft": {"n_fft": N_FFT, "hop": HOP}, "model": {"architecture": "nsgt", "nsgt": nsgt, "hidden_size": 16, "nb_layers": 1}})


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("scale_factor", [2, 4])
@pytest.mark.parametrize("length", [8 * HOP * 4, 8 * HOP * 4 + 37, 23 * HOP + 5, 4001])
def test_output_is_a_base_stft_magnitude_for_any_length(scale_factor, length):
    settings = multires(scale_factor)
    model, frontend = build_model(settings, RATE).eval(), build_frontend(settings, RATE, center=False)
    audio = torch.randn(2, 2, length)
    base, double, half = frontend.inputs(audio)
    assert double.shape[2] == N_FFT * scale_factor // 2 + 1 and half.shape[2] == N_FFT // scale_factor // 2 + 1
    estimate = model((base, double, half))
    # the separation's (centred) base STFT of the mixture, which the Wiener filter uses
    mix = magnitude(STFT(N_FFT, HOP, center=True)(audio))
    assert estimate.shape == mix.shape == frontend.target(audio).shape
    assert torch.equal(base, mix) and torch.all(estimate >= 0)


@pytest.mark.parametrize("scale_factor", [2, 4])
def test_gradients_reach_every_branch(scale_factor):
    settings = multires(scale_factor)
    model, frontend = build_model(settings, RATE), build_frontend(settings, RATE, center=False)
    audio = torch.randn(2, 2, 20 * HOP * scale_factor + 11)
    model(frontend.inputs(audio)).sum().backward()
    for name in [
        "input_mean", "input_scale", "input_mean_double", "input_scale_double", "input_mean_half", "input_scale_half",
        "double_freq.weight", "double_time.weight", "half_freq.weight", "half_time.weight", "merge.weight", "fc1.weight",
    ]:
        grad = model.get_parameter(name).grad
        assert grad is not None and grad.abs().sum() > 0, name


def triangle(kernel: int) -> torch.Tensor:
    """Linear-interpolation weights over a kernel of s + 1 taps (positive, centred)."""
    half = kernel // 2
    return torch.tensor([1 - abs(i - half) / (2 * half) for i in range(kernel)])


@pytest.mark.parametrize("scale_factor", [2, 4])
@pytest.mark.parametrize("position", [20.0, 31.3, 44.6])
def test_an_impulse_lands_in_the_same_core_frame_from_every_branch(scale_factor, position):
    settings = multires(scale_factor)
    model, frontend = build_model(settings, RATE).eval(), build_frontend(settings, RATE, center=False)
    with torch.no_grad():
        for conv in [model.double_freq, model.double_time, model.half_freq, model.half_time]:
            taps = triangle(scale_factor + 1)
            conv.weight.zero_()
            for c in range(conv.weight.shape[0]):
                conv.weight[c, c] = taps.reshape(conv.weight.shape[2:])
            conv.bias.zero_()
        audio = torch.zeros(1, 2, 80 * HOP)
        audio[..., int(position * HOP)] = 1.0
        frames = [branch.abs().sum(dim=(0, 1, 2)).argmax().item() for branch in model.branches(frontend.inputs(audio))]
    assert all(abs(frame - position) <= 1 for frame in frames), frames


def test_multires_statistics_initialise_each_branch():
    settings = multires(2)
    (n0, _), (n1, _), (n2, _) = stft_resolutions(settings)
    stats = [(torch.rand(n // 2 + 1).numpy(), 1 + torch.rand(n // 2 + 1).numpy()) for n in (n0, n1, n2)]
    model = build_model(settings, RATE, *stats[0], extra_stats=stats[1:])
    assert isinstance(model, MultiResUnmix)
    assert torch.allclose(model.input_mean_double, -torch.from_numpy(stats[1][0][: model.nb_bins_double]).float())
    assert torch.allclose(model.input_scale_half, 1 / torch.from_numpy(stats[2][1][: model.nb_bins_half]).float())


def test_resolutions_follow_the_scale_factor():
    assert stft_resolutions(multires(4)) == [(512, 128), (2048, 512), (128, 32)]
    assert stft_resolutions(nsgt_settings()) == []
    with pytest.raises(ValueError, match="scale_factor"):
        stft_resolutions(deep_merge(PUBLISHED_DEFAULTS, {"model": {"architecture": "multires"}}))
    with pytest.raises(ValueError, match="is not 2 or 4"):
        build_model(multires(8), RATE)


def test_nsgt_model_predicts_an_nsgt_magnitude_and_trains():
    settings = nsgt_settings()
    model, frontend = build_model(settings, RATE), build_frontend(settings, RATE, center=False)
    audio = torch.randn(2, 2, 9000)
    mix = frontend.inputs(audio)
    estimate = model(mix)
    assert estimate.shape == mix.shape == frontend.target(audio).shape and torch.all(estimate >= 0)
    estimate.sum().backward()
    assert model.fc1.weight.grad.abs().sum() > 0 and model.input_scale.grad.abs().sum() > 0


def test_nsgt_separation_magnitude_is_the_base_stft_of_the_inverse():
    frontend = build_frontend(nsgt_settings(), RATE, center=True)
    audio = torch.randn(1, 2, 9000, dtype=torch.float64)
    # the mixture's own NSGT magnitude comes back as the mixture's STFT magnitude
    got = frontend.stft_magnitude(frontend.inputs(audio), audio)
    want = magnitude(STFT(N_FFT, HOP, center=True).double()(audio))
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6 * want.max().item())


def test_openunmix_front_end_is_the_plain_stft_magnitude():
    frontend = build_frontend(multires(2, architecture="openunmix"), RATE, center=False)
    audio = torch.randn(1, 2, 5000)
    assert torch.equal(frontend.inputs(audio), magnitude(STFT(N_FFT, HOP, center=False)(audio)))
    target = frontend.target(audio)
    assert frontend.stft_magnitude(target, audio) is target
