"""The fast BSSEval v4 gives museval.evaluate's numbers bit for bit."""

import numpy as np
import pytest

from umxmr.evaluation import bsseval
from umxmr.evaluation.museval_import import import_museval

RATE = 8000


pytestmark = pytest.mark.usefixtures("one_blas_thread")


def track(seed, nsrc=3, seconds=1.5, channels=2):
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    refs = [0.1 * rng.standard_normal((n, channels)) for _ in range(nsrc)]
    # estimates leak the other sources: real interference, not only noise
    mix = sum(refs)
    ests = [0.8 * r + 0.1 * mix + 0.02 * rng.standard_normal(r.shape) for r in refs]
    return refs, ests


@pytest.mark.parametrize("workers", [1, 2])
def test_identical_to_museval_evaluate(workers):
    museval = import_museval()
    refs, ests = track(0)
    refs[1][RATE // 2 : RATE] = 0.0  # a frame where a reference is silent: NaN there
    expected = museval.evaluate(refs, ests, win=RATE // 2, hop=RATE // 4)
    got = bsseval.bss_eval_v4(refs, ests, win=RATE // 2, hop=RATE // 4, workers=workers)
    for name, a, b in zip(("SDR", "ISR", "SIR", "SAR"), expected, got):
        assert a.shape == b.shape == (3, 5), name
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert np.isnan(got[0][1, 2]) and np.isfinite(got[0][0, 0])
    assert bsseval._SHARED == {}  # the large arrays are released


def test_mono_two_sources_and_padding():
    museval = import_museval()
    refs, ests = track(1, nsrc=2, channels=1, seconds=1.0)
    ests = [e[:-100] for e in ests]  # museval pads short estimates with zeros
    expected = museval.evaluate(refs, ests, win=RATE, hop=RATE)
    got = bsseval.bss_eval_v4(refs, ests, win=RATE, hop=RATE)
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(a, b)


def test_silent_source_rejected_like_museval():
    refs, ests = track(2, nsrc=2, seconds=0.5)
    refs[0][:] = 0.0
    with pytest.raises(ValueError, match="non-silent"):
        bsseval.bss_eval_v4(refs, ests, win=RATE, hop=RATE)
