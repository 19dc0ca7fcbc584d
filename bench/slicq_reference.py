"""Coefficients of PyPI `nsgt` 0.19's sliced NSGT for the comparison with umxmr.models.slicq (run in a throwaway venv).

nsgt does not build or run in the project venv (numpy 2), so this script runs under its
own interpreter, with numpy < 2 (nothing of that venv is committed, only this script's output):

    python3 -m venv /tmp/nsgt19-venv
    /tmp/nsgt19-venv/bin/pip install "numpy<2" cython wheel setuptools
    /tmp/nsgt19-venv/bin/pip install --no-build-isolation nsgt==0.19
    /tmp/nsgt19-venv/bin/python bench/slicq_reference.py tests/data/slicq_reference.npz
    /tmp/nsgt19-venv/bin/python bench/slicq_reference.py /tmp/slicq_bark.npz --bark  # bench/README.md only

The transform: `NSGT_sliced(MelScale(32.9, 22050, 250), sl_len=18060, tr_area=4516, fs=44100,
real=True, matrixform=True)`: umx-mr-7's slice and transition lengths (the smallest its Bark
scale allows) on a scale nsgt has; 250 mel bands is the most whose own smallest slice
(17448) still fits 18060. The input: 13545 samples of seeded noise (three quarter-slice
blocks, so three slices, the first and last holding the zero padding). Stored: the input,
every 16th coefficient of every slice and band (all of them would be 1.5 MB), the
parameters and nsgt's own reconstruction SDR.

As in bench/nsgt_reference.py, nsgt 0.19's `nsgfwin` fails even on numpy 1.26 in
`np.clip(M, min_win, np.inf, out=M)` (M is an int array); the clip is replaced by the same
floor, `M[:] = max(M, min_win)`.
"""

import sys

import numpy as np
import nsgt.nsgfwin_sl as nsgfwin_module
from nsgt import NSGT_sliced
from nsgt.fscale import MelScale, Scale


class _NumpyWithIntClip:
    def __getattr__(self, name):
        return getattr(np, name)

    def clip(self, a, low, high, out=None):
        out[:] = np.maximum(a, low)
        return out


nsgfwin_module.np = _NumpyWithIntClip()

class BarkScale(Scale):
    """xumx-sliCQ's Bark scale on nsgt's Scale (band frequencies only; Q by nsgt's numerical derivative)."""

    def __init__(self, fmin, fmax, bnds):
        Scale.__init__(self, bnds)
        self.bmin = 6 * np.arcsinh(fmin / 600.0)
        self.bbnd = (6 * np.arcsinh(fmax / 600.0) - self.bmin) / (bnds - 1)

    def F(self, bnd=None):
        bnd = np.arange(self.bnds) if bnd is None else bnd
        return 600.0 * np.sinh((bnd * self.bbnd + self.bmin) / 6.0)


out = sys.argv[1]
bark = "--bark" in sys.argv  # umx-mr-7's own Bark scale, for bench/README.md only (not stored in tests/data)
fmin, fmax, bins, sl_len, tr_area, rate, length, stride = 32.9, 22050.0, 262 if bark else 250, 18060, 4516, 44100, 13545, 16
x = np.random.default_rng(0).standard_normal(length).astype(np.float32)
scale = BarkScale(fmin, fmax, bins) if bark else MelScale(fmin, fmax, bins)
transform = NSGT_sliced(scale, sl_len, tr_area, rate, real=True, matrixform=True)
c = np.array(list(transform.forward((x.astype(np.float64),))))  # (slices, bins, coefficients)
y = np.concatenate(list(transform.backward(c)), axis=-1)[:length]
sdr = 10 * np.log10(np.sum(x.astype(np.float64) ** 2) / np.sum((x - y) ** 2))
np.savez_compressed(
    out,
    x=x,
    c=c[..., ::stride].astype(np.complex64),
    params=np.array([fmin, fmax, bins, sl_len, tr_area, rate, stride]),
    shape=np.array(c.shape),
    sdr=sdr,
)
print(f"nsgt sliced {c.shape} coefficients (every {stride}th stored), own inverse SDR {sdr:.1f} dB -> {out}")
