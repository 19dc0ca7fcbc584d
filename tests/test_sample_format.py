"""separation.sample_format: pcm24 estimate WAVs hold the samples to 24-bit precision, refuse
what would clip, and the schema accepts only the formats the writer knows."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import soundfile as sf
import yaml

from umxmr.config_check import ConfigError, validate_config
from umxmr.data.audio import SAMPLE_FORMATS, write_audio


def test_pcm24_holds_the_samples_to_24_bits(tmp_path):
    audio = np.random.default_rng(0).uniform(-0.99, 0.99, (44100, 2)).astype(np.float32)
    write_audio(tmp_path / "x.wav", audio, 44100, SAMPLE_FORMATS["pcm24"])
    info = sf.info(str(tmp_path / "x.wav"))
    back, _ = sf.read(str(tmp_path / "x.wav"), dtype="float64")
    assert info.subtype == "PCM_24"
    assert np.max(np.abs(back - audio)) <= 2.0**-23  # half a step of 2**-23 each way, and float32 rounding


def test_pcm24_refuses_samples_that_would_clip(tmp_path):
    audio = np.zeros((100, 2), dtype=np.float32)
    audio[50, 1] = -1.0
    with pytest.raises(ValueError, match=r"x\.wav.*clip.*sample_format: float"):
        write_audio(tmp_path / "x.wav", audio, 44100, SAMPLE_FORMATS["pcm24"])
    assert not (tmp_path / "x.wav").exists()
    write_audio(tmp_path / "x.wav", audio, 44100, SAMPLE_FORMATS["float"])  # float keeps it


def test_schema_knows_the_writer_formats(repo_root):
    config = yaml.safe_load((repo_root / "config.yaml").read_text())
    schema = repo_root / "schemas" / "config.schema.yaml"
    enum = yaml.safe_load(schema.read_text())["definitions"]["separation"]["properties"]["sample_format"]["enum"]
    assert set(enum) == set(SAMPLE_FORMATS)
    bad = copy.deepcopy(config)
    bad["separation"]["sample_format"] = "flac"
    with pytest.raises(ConfigError, match="sample_format"):
        validate_config(bad, schema)


def test_blocked_writer_refuses_clipping_and_leaves_no_file(tmp_path):
    """Separation and the oracle write their estimates block by block: a block that would clip
    stops the job after earlier blocks were written, and no file is left."""
    from umxmr.data.audio import write_audio_blocks

    quiet, loud = np.full((10, 2), 0.5, dtype=np.float32), np.full((10, 2), 1.5, dtype=np.float32)
    with pytest.raises(ValueError, match=r"a\.wav.*clip"):
        write_audio_blocks([tmp_path / "a.wav"], ["a"], iter([{"a": quiet}, {"a": loud}]), 44100, SAMPLE_FORMATS["pcm24"])
    assert list(tmp_path.iterdir()) == []
