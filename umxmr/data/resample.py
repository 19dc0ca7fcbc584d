"""A track-folder dataset at other sample rates, resampled once to 44.1 kHz into a cache.

With `dataset.other_rates: resample`, the rule `dataset_resample` runs this before the
manifest: every track with a stem that is not at 44.1 kHz is written, all its stems, to
`<cache>/<subset>/<track>/<stem>.wav` (32-bit float, soxr "VHQ", as the Periphery
conversion); tracks already at 44.1 kHz stay where they are. The manifest then checks and
lists the cached copy instead of the original, so training, separation and evaluation read
44.1 kHz audio and never resample per epoch. `<cache>/resampled.json` lists what was
resampled from which rate and the cache's size.

Stems that cannot be read are left alone here: the manifest's check names them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import soxr
from tqdm import tqdm

from umxmr.atomic import atomic_dir
from umxmr.data.audio import RATE, AudioError, audio_info, read_audio, write_audio

log = logging.getLogger(__name__)

SUBSETS = ("train", "valid", "test")


def _rates(folder: Path, stem_files: Mapping[str, str]) -> dict[str, int]:
    """Sample rate of every readable stem of a track folder."""
    rates = {}
    for stem, name in stem_files.items():
        try:
            rates[stem] = audio_info(folder / name).samplerate
        except AudioError:
            continue
    return rates


def resample_tree(root: Path, stem_files: Mapping[str, str], out: Path) -> dict[str, Any]:
    """Resample every track of `root/{train,valid,test}/` with a stem not at 44.1 kHz into `out`.

    `stem_files` maps each stem (mixture, drums, bass, other, vocals) to its file name in a
    track folder (WAV or FLAC). Returns the report also written to `out/resampled.json`.
    Audio is `(frames, channels)` float64 through soxr, written as float32 WAV.
    """
    root, out = Path(root), Path(out)
    tracks: list[dict[str, Any]] = []
    with atomic_dir(out) as tmp:
        folders = [
            (subset, folder)
            for subset in SUBSETS
            if (root / subset).is_dir()
            for folder in sorted(p for p in (root / subset).iterdir() if p.is_dir())
        ]
        for subset, folder in tqdm(folders, desc="resampling", unit="track", mininterval=5):
            rates = _rates(folder, stem_files)
            if all(rate == RATE for rate in rates.values()):
                continue
            target = tmp / subset / folder.name
            target.mkdir(parents=True)
            for stem, rate in rates.items():
                audio = read_audio(folder / stem_files[stem], dtype="float64")
                if rate != RATE:
                    audio = soxr.resample(audio, rate, RATE, quality="VHQ")
                write_audio(target / f"{stem}.wav", audio.astype(np.float32), RATE)
            tracks.append({"subset": subset, "track": folder.name, "rates": rates})
            log.warning("%s: resampled to %d Hz from %s", folder, RATE, sorted(set(rates.values())))
        size = sum(p.stat().st_size for p in tmp.rglob("*.wav"))
        report = {"root": str(root), "rate": RATE, "quality": "soxr VHQ", "tracks": tracks, "bytes": size}
        (tmp / "resampled.json").write_text(json.dumps(report, indent=2))
    log.info("%d track(s) resampled into %s (%.1f MB)", len(tracks), out, size / 1e6)
    return report
