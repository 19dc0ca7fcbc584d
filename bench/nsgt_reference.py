"""Coefficients of PyPI `nsgt` 0.19 for the comparison with umxmr.models.nsgt (run in a throwaway venv).

nsgt does not build or run in the project venv (numpy 2.4), so this script runs under
its own interpreter, with numpy < 2:

    python3 -m venv /tmp/nsgt-venv
    /tmp/nsgt-venv/bin/pip install "numpy<2" cython wheel
    /tmp/nsgt-venv/bin/pip install --no-build-isolation nsgt==0.19
    /tmp/nsgt-venv/bin/python bench/nsgt_reference.py OUT.npz [LENGTH FMIN FMAX BPO]

Even with numpy 1.26, nsgt 0.19's `nsgfwin` fails in `np.clip(M, min_win, np.inf, out=M)`
(M is an int array); the clip is replaced by the same floor, `M[:] = max(M, min_win)`.
Writes the random input `x`, the coefficients `c` (NSGT(OctScale, real, matrixform)) and the
reconstruction SDR of nsgt's own inverse. bench/nsgt_vs_reference.py compares with ours;
tests/data/nsgt_reference.npz (LENGTH 512, 200-21000 Hz, 2 bands per octave) is its output.
"""

import sys

import numpy as np
import nsgt.nsgfwin_sl as nsgfwin_module
from nsgt import NSGT, OctScale


class _NumpyWithIntClip:
    def __getattr__(self, name):
        return getattr(np, name)

    def clip(self, a, low, high, out=None):
        out[:] = np.maximum(a, low)
        return out


nsgfwin_module.np = _NumpyWithIntClip()

out = sys.argv[1]
length, fmin, fmax, bpo = (int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])) if len(sys.argv) > 2 else (512, 200.0, 21000.0, 2)
rate = 44100
x = np.random.default_rng(0).standard_normal(length)
transform = NSGT(OctScale(fmin, fmax, bpo), rate, length, real=True, matrixform=True)
c = np.array(transform.forward(x))
y = transform.backward(c)
sdr = 10 * np.log10(np.sum(x**2) / np.sum((x - y) ** 2))
np.savez_compressed(out, x=x.astype(np.float32), c=c.astype(np.complex64), params=np.array([length, fmin, fmax, bpo, rate]), sdr=sdr)
print(f"nsgt {c.shape} coefficients, own inverse SDR {sdr:.1f} dB -> {out}")
