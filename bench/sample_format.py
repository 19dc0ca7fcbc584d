"""Disk and score cost of `separation.sample_format: pcm24` against float estimate WAVs.

A demo-synthesis test track (`--seconds`, default 30), its phase-mix oracle estimates (the
highest SDRs the pipeline produces, where quantisation would show first), written as FLOAT and
as PCM_24 WAVs by umxmr.data.audio.write_audio, each evaluated by the workflow's evaluation
(umxmr.evaluation.evaluate.evaluate_track_dirs, BSSEval v4, 1 s frames). Prints the bytes per
second of a track (4 targets) and the largest difference of any frame's SDR, SIR, SAR, ISR and
of the per-track medians.

    python bench/sample_format.py --seconds 30
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from umxmr.data.audio import SAMPLE_FORMATS, write_audio
from umxmr.data.demo import render_track
from umxmr.evaluation.evaluate import evaluate_track_dirs
from umxmr.oracle.estimates import phase_mix

RATE = 44100
TARGETS = ["vocals", "drums", "bass", "other"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="sample_format_"))
    audio = render_track(42, "test", 0, int(args.seconds * RATE))
    ref = root / "reference"
    ref.mkdir()
    for stem, samples in audio.items():
        sf.write(str(ref / f"{stem}.wav"), samples, RATE, subtype="PCM_16")
    as_float = {k: v.astype(np.float64) / 32768 for k, v in audio.items()}
    estimates = phase_mix(as_float["mixture"], {t: as_float[t] for t in TARGETS})
    scores, sizes = {}, {}
    for fmt, subtype in SAMPLE_FORMATS.items():
        folder = root / fmt
        for target in TARGETS:
            write_audio(folder / f"{target}.wav", estimates[target].astype(np.float32), RATE, subtype)
        sizes[fmt] = sum((folder / f"{t}.wav").stat().st_size for t in TARGETS) / args.seconds
        start = time.perf_counter()
        evaluate_track_dirs(ref, folder, TARGETS, root / f"{fmt}.json", "bench", workers=2)
        print(f"{fmt}: {sizes[fmt] / 1e6:.3f} MB per second of track (4 targets); evaluated in {time.perf_counter() - start:.0f} s")
        scores[fmt] = json.loads((root / f"{fmt}.json").read_text())["targets"]
    print(f"pcm24 / float size: {sizes['pcm24'] / sizes['float']:.3f}")
    for metric in ["SDR", "SIR", "SAR", "ISR"]:
        frames, medians = 0.0, 0.0
        for a, b in zip(scores["float"], scores["pcm24"]):
            x = np.array([f["metrics"][metric] for f in a["frames"]], dtype=float)
            y = np.array([f["metrics"][metric] for f in b["frames"]], dtype=float)
            frames = max(frames, float(np.nanmax(np.abs(x - y))))
            medians = max(medians, abs(float(np.nanmedian(x) - np.nanmedian(y))))
        print(f"{metric}: max |float - pcm24| over frames {frames:.2e} dB, over track medians {medians:.2e} dB")


if __name__ == "__main__":
    main()
