"""umxmr.models.nsgt against PyPI nsgt 0.19: coefficient error and reconstruction SDR of both.

nsgt runs in its own venv (see bench/nsgt_reference.py for how to make it):

    python bench/nsgt_vs_reference.py [/tmp/nsgt-venv/bin/python]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from umxmr.models.nsgt import NSGT

CASES = [  # length, fmin, fmax, bands per octave
    (512, 200.0, 21000.0, 2),
    (44100, 32.7, 22000.0, 12),
    (132300, 32.7, 22000.0, 12),
    (100003, 40.0, 20000.0, 24),
]


def main() -> None:
    python = sys.argv[1] if len(sys.argv) > 1 else "/tmp/nsgt-venv/bin/python"
    script = Path(__file__).with_name("nsgt_reference.py")
    print("| length | fmin-fmax Hz | bands/oct | shape | max abs error / max abs coef | SDR ours (float64) dB | SDR nsgt dB | ours s |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for length, fmin, fmax, bpo in CASES:
            out = Path(tmp) / f"{length}.npz"
            subprocess.run([python, str(script), str(out), str(length), str(fmin), str(fmax), str(bpo)], check=True, capture_output=True)
            ref = np.load(out)
            # the reference's input is stored as float32: feed both the same samples
            x = torch.from_numpy(ref["x"]).double()
            started = time.perf_counter()
            transform = NSGT(fmin, fmax, bpo, 44100.0, length)
            coefs = transform.forward(x)
            y = transform.inverse(coefs).numpy()
            seconds = time.perf_counter() - started
            err = np.abs(coefs.numpy() - ref["c"]).max() / np.abs(ref["c"]).max()
            sdr = 10 * np.log10(np.sum(x.numpy() ** 2) / np.sum((x.numpy() - y) ** 2))
            print(f"| {length} | {fmin:g}-{fmax:g} | {bpo} | {tuple(ref['c'].shape)} | {err:.1e} | {sdr:.0f} | {float(ref['sdr']):.0f} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
