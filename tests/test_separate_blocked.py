"""Separation and the oracle block by block equal the whole-track computation.

References: torch.stft/torch.istft for the blocked transforms, openunmix 1.3.0's Separator
for Open-Unmix (linear fc1, LSTM), the whole-track path (`separate_whole_track`, the code
before blocks) for the switches openunmix lacks, and `phase_mix_whole_track` for the oracle.
Tolerance: 2e-5 × max |mixture|, as tests/test_separate.py against openunmix.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from umxmr.data.audio import write_audio_blocks
from umxmr.models import blocked
from umxmr.models.openunmix import OpenUnmix, from_openunmix_state_dict
from umxmr.oracle import estimates as oracle
from umxmr.separation import separate as sep

torch.set_num_threads(1)

N_FFT, HOP, RATE = 256, 64, 8000.0
WIN = 20  # Wiener window (frames)
LENGTH = 6371  # 100 frames: 5 Wiener windows, the last one short; not a multiple of the hop


def mixture(seed=0):
    return (0.3 * np.random.default_rng(seed).standard_normal((LENGTH, 2))).astype(np.float32)


@pytest.mark.parametrize("length,n_fft,hop,block", [(10007, 512, 128, 7), (3000, 256, 64, 1), (700, 512, 128, 2)])
def test_blocked_stft_and_overlap_add_equal_torch(length, n_fft, hop, block):
    x = torch.from_numpy(np.random.default_rng(length).standard_normal((2, length)))
    window = torch.hann_window(n_fft, dtype=torch.float64)
    whole = torch.stft(x, n_fft, hop, window=window, center=True, pad_mode="reflect", return_complex=True)
    total = blocked.nb_frames(length, n_fft, hop)
    assert total == whole.shape[-1]
    read = blocked.array_reader(x)
    parts = [blocked.stft_frames(read, length, n_fft, hop, window, a, min(total, a + block)) for a in range(0, total, block)]
    torch.testing.assert_close(torch.cat(parts, -1), whole, rtol=0, atol=1e-12)
    spec = whole * torch.rand(whole.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for out_length in (length, length - 5, length + 300):  # torch.istft's `length`: cut, or zeros past the end
        inverse = blocked.OverlapAdd(n_fft, hop, window, total, out_length)
        pieces = [inverse.push(spec[..., a : a + block]) for a in range(0, total, block)]
        want = torch.istft(spec, n_fft, hop, window=window, center=True, length=out_length)
        torch.testing.assert_close(torch.cat(pieces, -1), want, rtol=0, atol=1e-12)


def openunmix_twins(seed):
    """openunmix's OpenUnmix and ours with the same random weights and batch-norm statistics."""
    from openunmix.model import OpenUnmix as TheirUnmix

    torch.manual_seed(seed)
    nb_bins = N_FFT // 2 + 1
    mean, scale = np.random.default_rng(seed).random((2, nb_bins)) + 0.5
    theirs = TheirUnmix(nb_bins=nb_bins, nb_channels=2, hidden_size=16, nb_layers=2, max_bin=100, input_mean=mean, input_scale=scale)
    with torch.no_grad():
        theirs.output_scale.uniform_(0.5, 1.5)
        theirs.output_mean.uniform_(0.5, 1.5)
        for bn in (theirs.bn1, theirs.bn2, theirs.bn3):
            bn.running_mean.uniform_(-0.1, 0.1)
            bn.running_var.uniform_(0.8, 1.2)
    ours = OpenUnmix(nb_bins=nb_bins, nb_channels=2, hidden_size=16, nb_layers=2, max_bin=100)
    ours.load_state_dict(from_openunmix_state_dict(theirs.state_dict()))
    return ours.eval(), theirs.eval()


# block edges inside the Wiener windows (7) and exactly at them (10, 20 divide WIN)
@pytest.mark.parametrize("block", [7, 10])
@pytest.mark.parametrize(
    "niter,softmask,residual", [(0, False, False), (1, False, False), (1, False, True), (0, True, True), (1, True, False)]
)
def test_blocked_separation_equals_openunmix_separator(monkeypatch, block, niter, softmask, residual):
    from openunmix.model import Separator

    twins = {t: openunmix_twins(k) for k, t in enumerate(["vocals", "drums"])}
    mix = mixture(niter + 2 * softmask + 4 * residual)
    windows, spans = [], []
    wiener, stft_frames = sep._wiener, sep.stft_frames

    def spy_wiener(v, x, *args):
        windows.append(v.shape[0])
        return wiener(v, x, *args)

    def spy_stft(read, length, n_fft, hop, window, first, stop):
        spans.append(stop - first)
        return stft_frames(read, length, n_fft, hop, window, first, stop)

    monkeypatch.setattr(sep, "_wiener", spy_wiener)
    monkeypatch.setattr(sep, "stft_frames", spy_stft)
    ours = sep.separate(mix, {t: m for t, (m, _) in twins.items()}, N_FFT, HOP, niter, softmask, residual, WIN, block_frames=block)
    # never the whole track at once: STFT and layers in blocks, the filter in its windows
    total = blocked.nb_frames(LENGTH, N_FFT, HOP)
    assert max(spans) <= block and max(windows) == (WIN if niter else block) and sum(windows) == total
    separator = Separator(
        {t: m for t, (_, m) in twins.items()}, niter=niter, softmask=softmask, residual=residual,
        sample_rate=RATE, n_fft=N_FFT, n_hop=HOP, nb_channels=2, wiener_win_len=WIN,
    ).eval()
    with torch.no_grad():
        ref = separator(torch.from_numpy(mix.T.copy())[None])[0].numpy()
    names = ["vocals", "drums"] + (["residual"] if residual else [])
    assert list(ours) == names
    tol = 2e-5 * np.abs(mix).max()
    for k, name in enumerate(names):
        assert ours[name].shape == mix.shape
        np.testing.assert_allclose(ours[name].T, ref[k], rtol=0, atol=tol)


@pytest.mark.parametrize("block", [7, 20])
@pytest.mark.parametrize("niter", [0, 1])
def test_blocked_switches_equal_the_whole_track_path(block, niter):
    """The conv fc1 (umx-nw-conv, a halo of one frame), GRU, activation before batch norm, no bn3."""
    torch.manual_seed(niter)
    models = {}
    for k, (first, rnn) in enumerate([("conv", "gru"), ("conv", "lstm"), ("linear", "gru")]):
        model = OpenUnmix(nb_bins=N_FFT // 2 + 1, hidden_size=12, nb_layers=2, max_bin=90, rnn=rnn, first_layer=first,
                          act_before_bn=bool(k % 2), bn3=not k % 2)
        with torch.no_grad():
            for bn in (model.bn1, model.bn2):
                bn.running_mean.uniform_(-0.1, 0.1)
        models[f"t{k}"] = model.eval()
    assert [m.frame_halo for m in models.values()] == [1, 1, 0]
    mix = mixture(5 + niter)
    ours = sep.separate(mix, models, N_FFT, HOP, niter, False, True, WIN, block_frames=block)
    whole = sep.separate_whole_track(mix, models, N_FFT, HOP, niter, False, True, WIN)
    assert list(ours) == list(whole) == [*models, "residual"]
    for name in whole:
        np.testing.assert_allclose(ours[name], whole[name], rtol=0, atol=2e-5 * np.abs(mix).max())


def multires_models(s):
    """Two tiny umx-mr-4 models (scale s) with random weights, normalisation and batch-norm
    statistics: umx-mr-4's switches (GRU, activation before batch norm, no bn3, output mean 0),
    and a conv fc1 with an LSTM; and their front end."""
    from umxmr.models.frontends import MultiStftFrontend
    from umxmr.models.multires import MultiResUnmix

    models = {}
    for k, (first, rnn) in enumerate([("linear", "gru"), ("conv", "lstm")]):
        torch.manual_seed(10 * s + k)
        rng = np.random.default_rng(10 * s + k)
        stats = [tuple(rng.random((2, n // 2 + 1)) + 0.5) for n in (N_FFT, N_FFT * s, N_FFT // s)]
        model = MultiResUnmix(
            scale_factor=s, nb_bins_double=N_FFT * s // 2 + 1, nb_bins_half=N_FFT // s // 2 + 1,
            stats_double=stats[1], stats_half=stats[2], nb_bins=N_FFT // 2 + 1, hidden_size=12, nb_layers=2,
            max_bin=90, input_mean=stats[0][0], input_scale=stats[0][1], rnn=rnn, first_layer=first,
            act_before_bn=not k, bn3=bool(k), output_mean_init=float(k),
        )  # fmt: skip
        with torch.no_grad():
            for bn in (model.bn1, model.bn2):
                bn.running_mean.uniform_(-0.1, 0.1)
                bn.running_var.uniform_(0.8, 1.2)
        models[f"t{k}"] = model.eval()
    frontend = MultiStftFrontend([(N_FFT, HOP), (N_FFT * s, HOP * s), (N_FFT // s, HOP // s)])
    return models, dict.fromkeys(models, frontend)


# block edges inside the Wiener windows (7: pass 1 rounds it to a multiple of s; 10) and at them (20)
@pytest.mark.parametrize("block", [7, 10, 20])
@pytest.mark.parametrize("s", [2, 4])
def test_blocked_multires_equals_the_whole_track_path(monkeypatch, s, block):
    """umx-mr-4 (s 4) and umx-mr-4-s2: its three STFTs, convolutions and frame-wise layers by
    block with a halo of one double and s/2 half frames, the core whole, the last frame held."""
    models, frontends = multires_models(s)
    mix = mixture(20 + s)
    total = blocked.nb_frames(LENGTH, N_FFT, HOP)
    # the double STFT ends s - 1 base frames early on this track: the last core frame is held
    assert models["t0"].nb_core_frames(total, blocked.nb_frames(LENGTH, N_FFT * s, HOP * s), 1 + LENGTH // (HOP // s)) == total - s + 1
    spans = {}
    stft_frames = sep.stft_frames

    def spy_stft(read, length, n_fft, hop, window, first, stop):
        spans[n_fft] = max(spans.get(n_fft, 0), stop - first)
        return stft_frames(read, length, n_fft, hop, window, first, stop)

    monkeypatch.setattr(sep, "stft_frames", spy_stft)
    ours = sep.separate(mix, models, N_FFT, HOP, 1, False, True, WIN, frontends=frontends, block_frames=block)
    # never a whole-track STFT: each resolution's frames come a block (and its halo) at a time;
    # pass 1 widens the conv fc1's blocks by s base frames each side
    wide = block + 2 * s
    assert spans[N_FFT] <= wide and spans[N_FFT * s] <= wide // s + 1 and spans[N_FFT // s] <= wide * s + 1
    monkeypatch.undo()
    whole = sep.separate_whole_track(mix, models, N_FFT, HOP, 1, False, True, WIN, frontends=frontends)
    assert list(ours) == list(whole) == [*models, "residual"]
    for name in whole:
        np.testing.assert_allclose(ours[name], whole[name], rtol=0, atol=2e-5 * np.abs(mix).max())


@pytest.mark.parametrize("halo", ["double", "half"])
@pytest.mark.parametrize("s", [2, 4])
def test_blocked_multires_needs_its_halo(monkeypatch, s, halo):
    """Without the halo (a block reads only its own double or half frames, as if the track
    ended there) the estimates differ from the whole-track path: the halo is needed."""
    from umxmr.models.multires import MultiResUnmix

    models, frontends = multires_models(s)
    models = {"t0": models["t0"]}  # linear fc1: blocks are not widened
    mix = mixture(30 + s)
    input_frames = MultiResUnmix.input_frames

    def own_frames_only(self, first, stop, nb_double, nb_half):
        (d0, d1), (h0, h1) = input_frames(self, first, stop, nb_double, nb_half)
        if halo == "double":
            return (d0, min(d1, -(-stop // s))), (h0, h1)
        return (d0, d1), (first * s, h1)

    whole = sep.separate_whole_track(mix, models, N_FFT, HOP, 1, False, True, WIN, frontends=frontends)
    monkeypatch.setattr(MultiResUnmix, "input_frames", own_frames_only)
    ours = sep.separate(mix, models, N_FFT, HOP, 1, False, True, WIN, frontends=frontends, block_frames=8)
    # the equality test's tolerance is missed by far (here 12 to 70 times)
    assert np.abs(ours["t0"] - whole["t0"]).max() > 5 * 2e-5 * np.abs(mix).max()


def slicq_models(pool):
    """Two tiny umx-mr-7 models (a mel sliCQ at 8 kHz: 39 slices of 344 samples on this track,
    24 grid columns per half slice, `pool` columns per core frame) with random weights,
    normalisation and batch-norm statistics (linear fc1 with an LSTM, conv fc1 with a GRU),
    and their front end."""
    from umxmr.models.frontends import SlicedNsgtFrontend
    from umxmr.models.nsgt_unmix import NsgtUnmix
    from umxmr.models.slicq import SliCQ

    slicq = SliCQ("mel", 100.0, 3900.0, 16, RATE)
    models = {}
    for k, (first, rnn) in enumerate([("linear", "lstm"), ("conv", "gru")]):
        torch.manual_seed(100 + k)
        model = NsgtUnmix(frame_pool=pool, nb_bins=slicq.nb_bins, hidden_size=12, nb_layers=2, max_bin=None, rnn=rnn, first_layer=first)
        with torch.no_grad():
            model.input_mean.uniform_(-0.5, 0.5)
            model.input_scale.uniform_(0.5, 2.0)
            model.output_scale.uniform_(0.5, 1.5)
            model.output_mean.uniform_(0.5, 1.5)
            for bn in (model.bn1, model.bn2, model.bn3):
                bn.running_mean.uniform_(-0.1, 0.1)
                bn.running_var.uniform_(0.8, 1.2)
        models[f"t{k}"] = model.eval()
    return models, dict.fromkeys(models, SlicedNsgtFrontend(slicq, N_FFT, HOP))


# core frames of 4 or 7 grid columns (not a divisor of the 24 per half slice); block edges
# (core frames in pass 1, base-STFT frames in pass 2) inside the Wiener windows (7, 10) and at them (20)
@pytest.mark.parametrize("block", [7, 10, 20])
@pytest.mark.parametrize("pool", [4, 7])
def test_blocked_slicq_equals_the_whole_track_path(monkeypatch, pool, block):
    """umx-mr-7: the sliCQ grid, pooling and frame-wise layers by block with a halo of whole
    slices, the core whole, the estimate synthesised and overlap-added slice by slice."""
    from umxmr.models.slicq import SliCQ

    models, frontends = slicq_models(pool)
    slicq = frontends["t0"].slicq
    mix = mixture(40 + pool)
    assert slicq.nb_slices(LENGTH) == 39
    spans = []
    slice_range = SliCQ.slice_range

    def spy(self, read, length, first, stop):
        spans.append(stop - first)
        return slice_range(self, read, length, first, stop)

    def whole_signal(*args):
        raise AssertionError("the whole signal's slices")

    monkeypatch.setattr(SliCQ, "slice_range", spy)
    monkeypatch.setattr(SliCQ, "slices", whole_signal)
    ours = sep.separate(mix, models, N_FFT, HOP, 1, False, True, WIN, frontends=frontends, block_frames=block)
    # never the whole track's slices: a block's (with a slice before and after) or a chunk's
    assert max(spans) <= max(sep._BlockedSliCQ.chunk, (block + 2) * pool // (slicq.nb_coefs // 2) + 3)
    monkeypatch.undo()
    whole = sep.separate_whole_track(mix, models, N_FFT, HOP, 1, False, True, WIN, frontends=frontends)
    assert list(ours) == list(whole) == [*models, "residual"]
    for name in whole:
        np.testing.assert_allclose(ours[name], whole[name], rtol=0, atol=2e-5 * np.abs(mix).max())


def test_blocked_slicq_needs_its_halo(monkeypatch):
    """Without the slice before a block's first column (its columns then miss that slice's
    |coefficients|) the estimates differ from the whole-track path."""
    from umxmr.models.slicq import SliCQ

    models, frontends = slicq_models(4)
    models = {"t0": models["t0"]}
    mix = mixture(50)
    column_slices = SliCQ.column_slices

    def without_halo(self, first, stop, length):
        lo, hi = column_slices(self, first, stop, length)
        return min(first // (self.nb_coefs // 2), hi - 1), hi

    whole = sep.separate_whole_track(mix, models, N_FFT, HOP, 1, False, True, WIN, frontends=frontends)
    monkeypatch.setattr(SliCQ, "column_slices", without_halo)
    ours = sep.separate(mix, models, N_FFT, HOP, 1, False, True, WIN, frontends=frontends, block_frames=10)
    assert np.abs(ours["t0"] - whole["t0"]).max() > 5 * 2e-5 * np.abs(mix).max()


@pytest.mark.parametrize("block", [1, 7, 64])
def test_blocked_phase_mix_equals_the_whole_track_oracle(tmp_path, block):
    rng = np.random.default_rng(block)
    src = {t: 0.1 * rng.standard_normal((LENGTH, 2)) for t in ("vocals", "drums", "bass")}
    mix = sum(src.values())
    whole = oracle.phase_mix_whole_track(mix, src, N_FFT, HOP)
    ours = oracle.phase_mix(mix, src, N_FFT, HOP, block_frames=block)
    tol = 2e-5 * np.abs(mix).max()
    for t in src:
        assert ours[t].shape == mix.shape
        np.testing.assert_allclose(ours[t], whole[t], rtol=0, atol=tol)
    # from files, as the rule runs it: stems read and estimates written block by block
    from contextlib import ExitStack

    for name, audio in {"mixture": mix, **src}.items():
        sf.write(tmp_path / f"{name}.wav", audio, 44100, subtype="DOUBLE")
    with ExitStack() as stack:
        readers = {n: oracle._FileReader([tmp_path / f"{n}.wav"], stack) for n in ["mixture", *src]}
        outputs = [tmp_path / "out" / f"{t}.wav" for t in src]
        blocks = oracle.phase_mix_blocks(readers.pop("mixture"), readers, LENGTH, N_FFT, HOP, block)
        write_audio_blocks(outputs, list(src), blocks, 44100)
    for t, path in zip(src, outputs):
        # FLOAT WAV: float32 rounding
        np.testing.assert_allclose(sf.read(path)[0], whole[t], rtol=0, atol=tol)


def test_a_failed_block_writer_leaves_no_file(tmp_path):
    def blocks():
        yield {"vocals": np.zeros((10, 2), np.float32)}
        raise RuntimeError("killed mid-track")

    with pytest.raises(RuntimeError, match="mid-track"):
        write_audio_blocks([tmp_path / "vocals.wav"], ["vocals"], blocks(), 44100)
    assert list(tmp_path.iterdir()) == []


class Gain(torch.nn.Module):
    """A whole-track stand-in model (not Open-Unmix): a gain per channel on the magnitude."""

    def __init__(self, gain):
        super().__init__()
        self.gain = torch.tensor(gain)[None, :, None, None]

    def forward(self, mag):
        return self.gain * mag


def test_blocked_per_target_stfts_equal_the_whole_track_computation():
    """umx-mr-5a/5b: own STFT per target, then the common STFT's joint Wiener/EM, each by block."""
    from umxmr.models.transforms import ISTFT, STFT, magnitude

    mix = mixture(9)
    models = {"vocals": (Gain([0.7, 0.5]), 256, 64), "bass": (Gain([0.2, 0.4]), 512, 128)}
    own = sep.separate_per_target_stft(mix, models, "own", (256, 64), wiener_win_len=WIN, block_frames=7)
    common = sep.separate_per_target_stft(mix, models, "common", (256, 64), niter=1, wiener_win_len=WIN, block_frames=7)
    audio = torch.from_numpy(mix.T.copy())[None]
    want_own = {}
    with torch.no_grad():
        for t, (model, n_fft, hop) in models.items():
            spec = STFT(n_fft, hop, center=True)(audio)
            want_own[t] = ISTFT(n_fft, hop)(torch.polar(model(magnitude(spec)), spec.angle()), length=LENGTH)[0].numpy().T
        stft = STFT(256, 64, center=True)
        x = stft(audio)[0].permute(2, 1, 0).numpy()
        est = torch.from_numpy(np.stack([want_own[t].T for t in models]))
        v = magnitude(stft(est)).permute(3, 2, 1, 0).numpy()
    y = sep.wiener_in_windows(v, x, 1, False, False, WIN)
    want_common = ISTFT(256, 64)(torch.from_numpy(y.transpose(3, 2, 1, 0).astype(np.complex64)), length=LENGTH).numpy()
    tol = 2e-5 * np.abs(mix).max()
    for k, t in enumerate(models):
        np.testing.assert_allclose(own[t], want_own[t], rtol=0, atol=tol)
        np.testing.assert_allclose(common[t], want_common[k].T, rtol=0, atol=tol)
