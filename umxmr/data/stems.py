"""MUSDB18 as released (``*.stem.mp4``, AAC): decoded once into a MUSDB18-HQ-layout cache.

`dataset.kind: musdb18` runs this in the rule `musdb18_decode`; the manifest then checks and
splits the cache exactly as a MUSDB18-HQ copy (musdb's own split). Decoding on the fly, per
epoch, is open-unmix's known slow path (its issue #3), so it happens once.

What is decoded, and how (musdb's converter `musdb.tools.musdb_convert` reads the same way):

* each track is read through `musdb.DB(root, is_wav=False)`: stream 0 is the **mixture as
  musdb reads it** (the released AAC mixture, not the sum of the stems), streams 1-4 are
  drums, bass, other, vocals (musdb's `stem_ids`), each decoded by stempeg/ffmpeg at the
  file's rate to float;
* decoded streams can differ by a few samples (AAC encoder priming and padding per
  stream); all five are cut to the shortest, as stempeg does when it reads streams
  together ("Stems differ in length and were shortend"); the cut is listed per track;
* the samples are written unchanged as 32-bit float WAVs (decoded AAC can exceed full
  scale; 16-bit would clip it), `<cache>/<subset>/<track>/<stem>.wav`.

Unlike `musdb_convert` itself, it writes neither `accompaniment.wav` nor `linear_mixture.wav`
(sums the pipeline forms when it needs them; they would add 40 % to the cache), and it does
not fail when the streams' lengths differ (musdb_convert sums the sources into those targets,
which numpy refuses for unequal lengths). `<cache>/decoded.json` records every track, the
samples cut, the rate and the cache's size in bytes (about 32 GB for the full 150 tracks:
about 10 h x 44100 Hz x 2 channels x 4 bytes x 5 files).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from umxmr.atomic import atomic_dir
from umxmr.data.audio import write_audio
from umxmr.data.layout import DatasetError, check_stems_root

log = logging.getLogger(__name__)

SOURCES = ("drums", "bass", "other", "vocals")  # streams 1-4 in musdb's stem_ids


def decode_musdb18(root: Path, out: Path) -> dict[str, Any]:
    """Decode every `*.stem.mp4` of `root/{train,test}/` into `out/<subset>/<track>/<stem>.wav`.

    Returns the report also written to `out/decoded.json`. Raises DatasetError for a root
    without stem files or a file that cannot be decoded.
    """
    import musdb  # stempeg and ffmpeg: only in the decoding job

    root, out = Path(root), Path(out)
    check_stems_root(root)
    tracks = []
    with atomic_dir(out) as tmp:
        for subset in ("train", "test"):
            db = musdb.DB(root=str(root), subsets=subset, is_wav=False)
            for track in tqdm(db.tracks, desc=f"decoding {root / subset}", unit="track", mininterval=5):
                try:
                    audio = {"mixture": track.audio, **{s: track.sources[s].audio for s in SOURCES}}
                except Exception as err:  # stempeg raises Warning/RuntimeError/ffmpeg errors
                    raise DatasetError(f"{track.path}: cannot decode ({err}); download or convert it again") from err
                lengths = {name: int(a.shape[0]) for name, a in audio.items()}
                frames = min(lengths.values())
                folder = tmp / subset / track.name
                folder.mkdir(parents=True)
                for name, a in audio.items():
                    write_audio(folder / f"{name}.wav", np.asarray(a[:frames], dtype=np.float32), int(track.rate))
                cut = {name: n - frames for name, n in lengths.items() if n != frames}
                if cut:
                    log.warning("%s: decoded streams differ in length %s; all cut to %d samples", track.path, lengths, frames)
                tracks.append({"subset": subset, "track": track.name, "rate": track.rate, "frames": frames, "cut": cut})
        size = sum(p.stat().st_size for p in tmp.rglob("*.wav"))
        report = {
            "root": str(root),
            "mixture": "stream 0 of each .stem.mp4 (the released mixture, as musdb reads it), not the sum of the stems",
            "streams": {"mixture": 0, **{s: i + 1 for i, s in enumerate(SOURCES)}},
            "lengths": "decoded streams cut to the shortest (AAC priming/padding), as stempeg.read_stems",
            "format": "32-bit float WAV, samples as decoded",
            "tracks": tracks,
            "bytes": size,
        }
        (tmp / "decoded.json").write_text(json.dumps(report, indent=2))
    log.warning("%d tracks decoded into %s (%.1f MB)", len(tracks), out, size / 1e6)
    return report
