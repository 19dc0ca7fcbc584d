import numpy as np
import pytest

from umxmr.oracle.estimates import phase_mix


def sources(seed, n=20000):
    rng = np.random.default_rng(seed)
    return {t: rng.standard_normal((n, 2)) * 0.1 for t in ("vocals", "drums")}


def test_one_source_is_the_mixture_itself_to_the_last_sample():
    src = sources(0, n=10007)  # not a multiple of the hop: the tail must come back too
    est = phase_mix(src["vocals"], {"vocals": src["vocals"]}, n_fft=512, hop=128)
    assert est["vocals"].shape == (10007, 2)
    np.testing.assert_allclose(est["vocals"], src["vocals"], atol=1e-9)


def test_magnitude_of_source_phase_of_mixture():
    import scipy.signal

    src = sources(1)
    mix = src["vocals"] + src["drums"]
    est = phase_mix(mix, src, n_fft=512, hop=128)
    assert set(est) == {"vocals", "drums"}
    # the estimate is not the source (its phase is the mixture's) but close to it
    err = np.sum((est["vocals"] - src["vocals"]) ** 2) / np.sum(src["vocals"] ** 2)
    assert 0.01 < err < 0.9
    # where the mixture is the source plus a weak other source, the phase barely changes
    weak = {"vocals": src["vocals"], "drums": 0.01 * src["drums"]}
    est = phase_mix(weak["vocals"] + weak["drums"], weak, n_fft=512, hop=128)
    sdr = 10 * np.log10(np.sum(src["vocals"] ** 2) / np.sum((est["vocals"] - src["vocals"]) ** 2))
    assert sdr > 30
    # magnitudes: away from the ends, |STFT(estimate)| ≈ |STFT(source)| (consistency aside)
    _, _, a = scipy.signal.stft(est["vocals"][:, 0], nperseg=512, noverlap=384)
    _, _, b = scipy.signal.stft(src["vocals"][:, 0], nperseg=512, noverlap=384)
    assert np.median(np.abs(np.abs(a) - np.abs(b))[:, 2:-2]) < 0.05 * np.median(np.abs(b))


def test_shape_mismatch():
    src = sources(2)
    with pytest.raises(ValueError, match="'drums' has shape"):
        phase_mix(src["vocals"], {"drums": src["drums"][:-1]})


# a small sliCQ (slices of 1296 samples, 18 bins × 824 coefficients) so that a short signal is many slices long
SMALL_NSGT = {"sliced": True, "scale": "mel", "bins": 16, "fmin": 200.0, "fmax": 8000.0}


def slicq_phase_mix_whole_track(mixture, sources, slicq):
    """The sliCQ oracle as it was before blocks (whole-track slices, then `unslice`): the reference."""
    import torch

    names = list(sources)
    with torch.no_grad():
        slices = slicq.slices(torch.from_numpy(np.stack([mixture, *(sources[n] for n in names)]).transpose(0, 2, 1).astype(np.float64)))
        coefs = slicq.analyse(slices)
        estimates = slicq.unslice(slicq.synthesise(coefs[1:].abs() * torch.exp(1j * coefs[:1].angle())), mixture.shape[0]).numpy()
    return {n: estimates[k].T for k, n in enumerate(names)}


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 16, 100])
@pytest.mark.parametrize("length", [26000, 25921])
def test_blocked_slicq_phase_mix_equals_the_whole_track_oracle(chunk, length):
    from umxmr.oracle.estimates import slicq_of_variant, slicq_phase_mix

    slicq = slicq_of_variant({"model": {"nsgt": SMALL_NSGT}}, 44100.0)
    assert slicq.nb_slices(length) == 42  # chunk edges at odd and even slices, a last chunk short or whole
    src = {t: 0.1 * s for t, s in sources(chunk + length, length).items()} | {"bass": np.random.default_rng(length).standard_normal((length, 2))}
    mix = sum(src.values())
    want = slicq_phase_mix_whole_track(mix, src, slicq)
    ours = slicq_phase_mix(mix, src, slicq, chunk=chunk)
    for t in src:
        assert ours[t].shape == mix.shape
        np.testing.assert_allclose(ours[t], want[t], rtol=0, atol=1e-12 * np.abs(mix).max())


def test_blocked_slicq_phase_mix_of_umx_mr_7(repo_root):
    import yaml

    from umxmr.oracle.estimates import slicq_of_variant, slicq_phase_mix

    nsgt = yaml.safe_load((repo_root / "config.yaml").read_text())["variants"]["umx-mr-7"]["model"]["nsgt"]
    slicq = slicq_of_variant({"model": {"nsgt": nsgt}}, 44100.0)
    src = sources(3, 30001)
    mix = sum(src.values())
    want = slicq_phase_mix_whole_track(mix, src, slicq)
    ours = slicq_phase_mix(mix, src, slicq, chunk=1)
    for t in src:
        np.testing.assert_allclose(ours[t], want[t], rtol=0, atol=1e-12 * np.abs(mix).max())


def test_slicq_phase_mix_track_files_equal_the_in_memory_oracle(tmp_path):
    """Through the rule's function: stems read and estimates written block by block; a
    complement (a sum of stems) as a target."""
    import json

    import soundfile as sf

    from umxmr.data.layout import check_track, write_manifest
    from umxmr.oracle.estimates import phase_mix_track_files, slicq_of_variant, slicq_phase_mix

    length = 30011
    rng = np.random.default_rng(5)
    stems = {s: 0.2 * rng.standard_normal((length, 2)) for s in ("drums", "bass", "other", "vocals")}
    folder = tmp_path / "test" / "song"
    folder.mkdir(parents=True)
    for name, audio in {"mixture": sum(stems.values()), **stems}.items():
        sf.write(str(folder / f"{name}.wav"), audio, 44100, subtype="DOUBLE")
    manifest = tmp_path / "manifest.json"
    write_manifest(manifest, "musdb", tmp_path, {"train": [], "valid": [], "test": [check_track(folder, "test")]})
    outputs = [tmp_path / "out" / "vocals.wav", tmp_path / "out" / "accompaniment.wav"]
    settings = {"model": {"nsgt": SMALL_NSGT}}
    sums = {"accompaniment": ["drums", "bass", "other"]}
    phase_mix_track_files("song", manifest, ["vocals", "accompaniment"], outputs, tmp_path / "prov.json", {}, sums=sums, slicq=settings)
    mix = sf.read(str(folder / "mixture.wav"))[0]
    src = {"vocals": sf.read(str(folder / "vocals.wav"))[0], "accompaniment": sum(sf.read(str(folder / f"{s}.wav"))[0] for s in sums["accompaniment"])}
    want = slicq_phase_mix(mix, src, slicq_of_variant(settings, 44100.0))
    for t, path in zip(src, outputs):
        got = sf.read(str(path))[0]
        assert got.shape == mix.shape
        np.testing.assert_allclose(got, want[t], rtol=0, atol=1e-6 * np.abs(want[t]).max())  # FLOAT WAV: float32 rounding
    assert json.loads((tmp_path / "prov.json").read_text())
