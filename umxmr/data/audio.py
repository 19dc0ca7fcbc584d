"""WAV reading and writing that fails with a message naming the file.

Every writer goes through a temporary file and `os.replace`, so a killed job never leaves
a half-written WAV behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import soundfile as sf

from umxmr.atomic import atomic_path

RATE = 44100


class AudioError(ValueError):
    """An audio file that the pipeline cannot use as it is."""


def audio_info(path: Path) -> sf._SoundFileInfo:
    """Header of `path`, or an AudioError saying it is missing or unreadable."""
    if not path.is_file():
        raise AudioError(f"{path}: file not found")
    try:
        return sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError) as err:
        raise AudioError(f"{path}: not a readable WAV file ({err}); replace or re-export it") from err


def wav_missing_bytes(path: Path) -> int:
    """Bytes that the RIFF header's data chunk declares but the file does not hold.

    Why: libsndfile quietly shortens a truncated WAV to what is there, so a copy cut off
    mid-transfer would pass a header check. 0 for complete files and for non-RIFF files.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return 0
        offset = 12
        while True:
            f.seek(offset)
            chunk = f.read(8)
            if len(chunk) < 8:
                return 0
            length = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                return max(0, offset + 8 + length - size)
            offset += 8 + length + (length & 1)


def read_audio(path: Path, start: int = 0, frames: int = -1, dtype: str = "float32") -> np.ndarray:
    """`(nb_timesteps, nb_channels)` samples of `path`, starting at frame `start`.

    16-bit PCM read as float32 is decoded as int16 and scaled by numpy: the same values as
    libsndfile's own conversion (x / 32768, exact in float32), about 5x faster, which the
    training loop's random excerpts feel (bench/training_samples_per_second.py).
    """
    try:
        with sf.SoundFile(str(path)) as f:
            if start:
                f.seek(start)
            if dtype == "float32" and f.subtype == "PCM_16":
                return f.read(frames, dtype="int16", always_2d=True).astype(np.float32) * np.float32(1 / 32768)
            return f.read(frames, dtype=dtype, always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as err:
        raise AudioError(f"{path}: cannot read audio ({err}); replace or re-export it") from err


# separation.sample_format -> libsndfile subtype of the estimate WAVs
SAMPLE_FORMATS = {"float": "FLOAT", "pcm24": "PCM_24"}


def _check_no_clipping(path: Path, audio: np.ndarray, subtype: str) -> None:
    """ValueError when an integer `subtype` would clip `audio` (a sample with |x| >= 1)."""
    if subtype.startswith("PCM") and audio.size and float(np.max(np.abs(audio))) >= 1.0:
        raise ValueError(
            f"{path}: samples reach {float(np.max(np.abs(audio))):.3f} (full scale 1.0), which {subtype} "
            "would clip; write it as float (separation.sample_format: float)"
        )


def write_audio(path: Path, audio: np.ndarray, rate: int = RATE, subtype: str = "FLOAT") -> None:
    """Write `(nb_timesteps, nb_channels)` audio atomically.

    Raises ValueError for an integer `subtype` (PCM_16, PCM_24) when a sample reaches full scale
    (|x| >= 1): libsndfile would clip it, and the file would no longer hold the samples given.
    """
    _check_no_clipping(path, audio, subtype)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), audio, rate, subtype=subtype, format="WAV")


def write_audio_blocks(
    paths: Sequence[Path],
    names: Sequence[str],
    blocks: Iterable[Mapping[str, np.ndarray]],
    rate: int = RATE,
    subtype: str = "FLOAT",
) -> None:
    """Write estimates as they are produced: `blocks` yields consecutive `{name: (n, nb_channels)}`,
    `names[i]` goes to `paths[i]`.

    Each file is written to a temporary sibling and renamed only when every block of every
    file is written, so a failure (or a kill) leaves none of them.
    """
    with ExitStack() as stack:
        files = None
        for block in blocks:
            if files is None:
                tmps = [stack.enter_context(atomic_path(Path(p))) for p in paths]
                files = [
                    stack.enter_context(sf.SoundFile(str(t), "w", rate, block[n].shape[1], subtype=subtype, format="WAV"))
                    for t, n in zip(tmps, names)
                ]
            for f, n, p in zip(files, names, paths):
                _check_no_clipping(p, block[n], subtype)
                f.write(block[n])
        if files is None:
            raise ValueError(f"no audio to write to {', '.join(map(str, paths))}")
