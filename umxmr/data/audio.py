"""WAV reading and writing that fails with a message naming the file.

Every writer goes through a temporary file and `os.replace`, so a killed job never leaves
a half-written WAV behind.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from umxmr.atomic import atomic_path

RATE = 44100


class AudioError(ValueError):
    """An audio file that the pipeline cannot use as it is."""


# Data-chunk sizes that streaming writers leave when they cannot seek back to fill them in:
# the audio runs to the end of the file. (RF64 puts 0xFFFFFFFF there and the real size in ds64.)
UNKNOWN_SIZES = {
    0xFFFFFFFF: "0xFFFFFFFF, as ffmpeg writes to a pipe",
    0x7FFFF000: "0x7FFFF000, as sox writes to a pipe",
    0x7FFFF024: "0x7FFFF024, as sox writes to a pipe",
    0: "0, as writers that never filled it in leave it",
}
# WAVE format tags (fmt chunk, or the first two bytes of an extensible file's sub-format GUID)
_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE
_RAW_SUBTYPES = {(_PCM, 8): "PCM_U8", (_PCM, 16): "PCM_16", (_PCM, 24): "PCM_24", (_PCM, 32): "PCM_32",
                 (_FLOAT, 32): "FLOAT", (_FLOAT, 64): "DOUBLE"}


@dataclass(frozen=True)
class WavHeader:
    """What a RIFF/RF64 WAV header declares, as bytes on disk.

    `declared` is the data chunk's size in bytes, None when the header says "unknown"
    (`UNKNOWN_SIZES`); `held` is how many bytes the file holds from the data chunk's start
    to its end. `raw_subtype` is the libsndfile RAW subtype of the samples (None for codecs
    the pipeline does not read raw, e.g. ADPCM).
    """

    container: str
    channels: int
    rate: int
    block_align: int
    raw_subtype: str | None
    data_offset: int
    declared: int | None
    held: int
    size_field: int


@dataclass(frozen=True)
class AudioInfo:
    """A checked audio file: frames, rate and channels as every stage will read them.

    `note` says why the frames differ from a plain reading of the header (unknown data size),
    for the manifest's log; `raw` is set when libsndfile reads no audio from the header and
    the samples are read raw from `raw.data_offset` (data size 0).
    """

    frames: int
    samplerate: int
    channels: int
    subtype: str
    format: str
    note: str | None = None
    raw: WavHeader | None = None


def wav_header(path: Path) -> WavHeader | None:
    """The fmt and data chunks of a RIFF/RF64 WAV at `path`; None for any other file (FLAC, ...).

    Follows the RIFF chunk walk (EBU Tech 3306 for RF64's ds64). Raises AudioError for a WAV
    without fmt or data chunk.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
            return None
        container, ds64_data, fmt = head[:4].decode(), None, None
        offset = 12
        while True:
            f.seek(offset)
            chunk = f.read(8)
            if len(chunk) < 8:
                raise AudioError(f"{path}: WAV without a data chunk; replace or re-export it")
            cid, length = chunk[:4], int.from_bytes(chunk[4:8], "little")
            if cid == b"ds64":
                ds64_data = int.from_bytes(f.read(16)[8:16], "little")
            elif cid == b"fmt ":
                fmt = f.read(min(length, 40))
            elif cid == b"data":
                break
            offset += 8 + length + (length & 1)
    if fmt is None or len(fmt) < 16:
        raise AudioError(f"{path}: WAV without a fmt chunk; replace or re-export it")
    tag, channels = int.from_bytes(fmt[0:2], "little"), int.from_bytes(fmt[2:4], "little")
    rate, block_align = int.from_bytes(fmt[4:8], "little"), int.from_bytes(fmt[12:14], "little")
    bits = int.from_bytes(fmt[14:16], "little")
    if tag == _EXTENSIBLE and len(fmt) >= 26:
        tag = int.from_bytes(fmt[24:26], "little")
    data_offset = offset + 8
    if container == "RF64" and length == 0xFFFFFFFF and ds64_data is not None:
        declared = ds64_data
    else:
        declared = None if length in UNKNOWN_SIZES else length
    return WavHeader(container, channels, rate, block_align, _RAW_SUBTYPES.get((tag, bits)), data_offset,
                     declared, max(0, size - data_offset), length)


def audio_info(path: Path) -> AudioInfo:
    """Frames, rate and channels of `path` as every stage reads them, or an AudioError.

    Each field of a WAV header is checked against what libsndfile reads: channels and rate
    must agree; the frames are the declared data size / block align, or, when the header
    says the size is unknown (`UNKNOWN_SIZES`), the whole rest of the file, with a `note`.
    A declared size that the file does not hold is "truncated" (libsndfile would quietly
    read what is there). Other formats (FLAC, ...) are libsndfile's reading as it is.
    """
    if not path.is_file():
        raise AudioError(f"{path}: file not found")
    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError) as err:
        raise AudioError(f"{path}: not a readable audio file ({err}); replace or re-export it") from err
    plain = AudioInfo(info.frames, info.samplerate, info.channels, info.subtype, info.format)
    header = wav_header(path)
    if header is None:
        return plain
    for field, ours, theirs in (("channels", header.channels, info.channels), ("sample rate", header.rate, info.samplerate)):
        if ours != theirs:
            raise AudioError(
                f"{path}: the header's {field} ({ours}) is not what libsndfile reads ({theirs}); "
                "the header is damaged: re-export the file"
            )
    if header.block_align <= 0:
        raise AudioError(f"{path}: block align {header.block_align} in the fmt chunk; re-export the file")
    if header.declared is not None:
        if header.declared > header.held:
            raise AudioError(
                f"{path}: truncated: its header declares {header.declared - header.held} bytes more audio "
                "than the file holds; copy or export it again"
            )
        frames, note = header.declared // header.block_align, None
    else:
        frames = header.held // header.block_align
        note = (
            f"{path}: the header gives the data size as {UNKNOWN_SIZES[header.size_field]} "
            f"(unknown); reading the audio to the end of the file: {frames} frames"
        )
    if info.frames == frames:
        return dataclasses.replace(plain, note=note)
    if info.frames == 0 and header.declared is None and header.raw_subtype is not None:
        # libsndfile reads no audio when the size is 0; the samples are read raw from the data chunk
        return dataclasses.replace(plain, frames=frames, note=note, raw=header)
    raise AudioError(
        f"{path}: the header declares {frames} frames, libsndfile reads {info.frames}; re-export the file"
    )


def wav_missing_bytes(path: Path) -> int:
    """Bytes that a WAV header's data chunk declares but the file does not hold (0: complete).

    Sizes that mean "unknown" (`UNKNOWN_SIZES`) declare nothing; RF64 declares in ds64.
    Why: libsndfile quietly shortens a truncated WAV to what is there, so a copy cut off
    mid-transfer would pass a header check. 0 for complete files and for non-WAV files.
    """
    header = wav_header(path)
    if header is None or header.declared is None:
        return 0
    return max(0, header.declared - header.held)


class _Window(io.RawIOBase):
    """Bytes `offset`… of a file, as a file of their own (libsndfile reads them as RAW)."""

    def __init__(self, path: Path, offset: int):
        self._f, self._offset = open(path, "rb"), offset  # noqa: SIM115 (closed by close())
        self._f.seek(offset)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        return self._f.readinto(b)

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 0:
            return self._f.seek(self._offset + pos) - self._offset
        return self._f.seek(pos, whence) - self._offset

    def tell(self) -> int:
        return self._f.tell() - self._offset

    def close(self) -> None:
        self._f.close()
        super().close()


def open_audio(path: Path) -> sf.SoundFile:
    """`path` opened by libsndfile; a WAV whose header gives the data size as 0 (libsndfile
    reads no audio from it) is opened raw at its data chunk, so every stage reads the samples
    the manifest counted (`audio_info`)."""
    f = sf.SoundFile(str(path))
    if f.frames or f.format != "WAV":
        return f
    f.close()
    raw = audio_info(path).raw
    if raw is None:
        return sf.SoundFile(str(path))
    return sf.SoundFile(_Window(path, raw.data_offset), format="RAW", samplerate=raw.rate,
                        channels=raw.channels, subtype=raw.raw_subtype, endian="LITTLE")


def read_audio(path: Path, start: int = 0, frames: int = -1, dtype: str = "float32") -> np.ndarray:
    """`(nb_timesteps, nb_channels)` samples of `path`, starting at frame `start`.

    16-bit PCM read as float32 is decoded as int16 and scaled by numpy: the same values as
    libsndfile's own conversion (x / 32768, exact in float32), about 5x faster, which the
    training loop's random excerpts feel (bench/training_samples_per_second.py).
    """
    try:
        with open_audio(path) as f:
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
