"""WAV headers as streaming writers leave them: sizes that mean "unknown" are read to the end
of the file (libsndfile is the reference for every field), any other size the file does not
hold is "truncated". Inputs are small WAVs whose header bytes the tests patch, and a WAV
that ffmpeg writes to a pipe."""

from __future__ import annotations

import logging
import struct
import subprocess

import numpy as np
import pytest
import soundfile as sf
from dataset_trees import musdb_tree

from umxmr.data.audio import AudioError, audio_info, read_audio, wav_header
from umxmr.data.layout import DatasetError, scan_musdb_layout

FRAMES = 1000


@pytest.fixture
def wav(tmp_path):
    """A complete 16-bit stereo WAV of seeded noise and its samples as libsndfile reads them."""
    path = tmp_path / "ref.wav"
    sf.write(path, np.random.default_rng(0).uniform(-0.5, 0.5, (FRAMES, 2)), 44100, subtype="PCM_16")
    return path, sf.read(path, dtype="float32", always_2d=True)[0]


def patched(src, dst, riff=None, data=None):
    """`src` with the RIFF and/or data chunk size fields replaced."""
    b = bytearray(src.read_bytes())
    i = b.find(b"data")
    if riff is not None:
        b[4:8] = struct.pack("<I", riff)
    if data is not None:
        b[i + 4 : i + 8] = struct.pack("<I", data)
    dst.write_bytes(bytes(b))
    return dst


@pytest.mark.parametrize(
    "riff, data", [(0xFFFFFFFF, 0xFFFFFFFF), (0x7FFFF024, 0x7FFFF000), (0, 0)], ids=["ffmpeg-pipe", "sox-pipe", "zero"]
)
def test_unknown_sizes_read_to_the_end(wav, tmp_path, riff, data):
    path, ref = wav
    out = patched(path, tmp_path / "pipe.wav", riff, data)
    info = audio_info(out)
    assert info.frames == sf.info(path).frames == FRAMES
    assert "unknown" in info.note and "to the end of the file" in info.note
    np.testing.assert_array_equal(read_audio(out), ref)
    np.testing.assert_array_equal(read_audio(out, start=100, frames=7, dtype="float64"), sf.read(path, start=100, frames=7)[0])


def test_unknown_size_in_a_dataset_is_a_note_in_the_log(tmp_path, caplog):
    root = musdb_tree(tmp_path / "musdb", n_train=1, n_valid=1, n_test=1, seconds=0.2)
    stem = root / "test" / "Test Artist - Song 0" / "bass.wav"
    patched(stem, stem, 0xFFFFFFFF, 0xFFFFFFFF)
    with caplog.at_level(logging.WARNING, logger="umxmr.data.layout"):
        tracks = scan_musdb_layout(root)
    assert tracks["test"][0].frames == sf.info(stem).frames
    assert f"{stem}: the header gives the data size as 0xFFFFFFFF" in caplog.text


def test_ffmpeg_writing_to_a_pipe(wav, tmp_path):
    path, ref = wav
    out = tmp_path / "out.wav"
    with open(out, "wb") as f:
        subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(path), "-c:a", "pcm_s16le", "-f", "wav", "pipe:1"],
                       stdout=f, check=True)
    assert wav_header(out).size_field == 0xFFFFFFFF  # what the issue reports
    assert audio_info(out).frames == FRAMES
    np.testing.assert_array_equal(read_audio(out), ref)


def test_rf64_sizes_come_from_ds64(wav, tmp_path):
    path, ref = wav
    out = tmp_path / "rf64.wav"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(path), "-c:a", "pcm_s16le", "-rf64", "always", str(out)], check=True)
    assert out.read_bytes()[:4] == b"RF64"
    assert audio_info(out).frames == sf.info(out).frames == FRAMES
    np.testing.assert_array_equal(read_audio(out), ref)
    # ds64's data size larger than the file holds: truncated
    b = bytearray(out.read_bytes())
    ds64 = b.find(b"ds64")
    b[ds64 + 16 : ds64 + 24] = struct.pack("<Q", FRAMES * 4 + 400)
    out.write_bytes(bytes(b))
    with pytest.raises(AudioError, match="truncated: its header declares 400 bytes more"):
        audio_info(out)


def test_other_sizes_the_file_does_not_hold_are_truncated(wav, tmp_path):
    path, _ = wav
    out = patched(path, tmp_path / "big.wav", data=FRAMES * 4 + 0x10000)
    assert sf.info(out).frames == FRAMES  # libsndfile quietly reads what is there
    with pytest.raises(AudioError, match=f"{out}: truncated: its header declares 65536 bytes more"):
        audio_info(out)


def test_frames_field_a_shorter_declared_size_is_what_libsndfile_reads(wav, tmp_path):
    path, ref = wav
    out = patched(path, tmp_path / "short.wav", data=100)  # 25 frames declared, more bytes after them
    assert audio_info(out).frames == sf.info(out).frames == 25
    np.testing.assert_array_equal(read_audio(out), ref[:25])


def _patch_fmt(src, dst, channels=None, rate=None):
    b = bytearray(src.read_bytes())
    f = b.find(b"fmt ") + 8
    if channels is not None:  # keep the file consistent: block align and byte rate follow
        b[f + 2 : f + 4] = struct.pack("<H", channels)
        b[f + 12 : f + 14] = struct.pack("<H", 2 * channels)
        b[f + 8 : f + 12] = struct.pack("<I", 44100 * 2 * channels)
    if rate is not None:
        b[f + 4 : f + 8] = struct.pack("<I", rate)
    dst.write_bytes(bytes(b))
    return dst


def test_rate_field_is_libsndfiles(wav, tmp_path):
    out = _patch_fmt(wav[0], tmp_path / "r.wav", rate=48000)
    assert audio_info(out).samplerate == sf.info(out).samplerate == 48000


def test_channels_field_is_libsndfiles(wav, tmp_path):
    out = _patch_fmt(wav[0], tmp_path / "c.wav", channels=1)
    info = audio_info(out)
    assert (info.channels, info.frames) == (sf.info(out).channels, sf.info(out).frames) == (1, 2 * FRAMES)


@pytest.mark.parametrize("field, kwargs, message", [
    ("rate", {"rate": 48000}, "sample rate 48000 Hz, expected 44100"),
    ("channels", {"channels": 1}, r"1 channel\(s\), expected stereo"),
])
def test_dataset_check_refuses_each_field(tmp_path, field, kwargs, message):
    root = musdb_tree(tmp_path / "musdb", n_train=1, n_valid=1, n_test=1, seconds=0.2)
    stem = root / "test" / "Test Artist - Song 0" / "vocals.wav"
    _patch_fmt(stem, stem, **kwargs)
    with pytest.raises(DatasetError, match=message):
        scan_musdb_layout(root)
