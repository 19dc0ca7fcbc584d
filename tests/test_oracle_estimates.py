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
