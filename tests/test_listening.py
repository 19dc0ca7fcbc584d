"""The report's listening page: structure, decodable audio of the excerpt's length, and SDR
values equal to a hand computation from the museval JSONs."""

from __future__ import annotations

import base64
import io
import json
import math
import statistics
from html.parser import HTMLParser

import numpy as np
import pytest
import soundfile as sf

from umxmr.report.listening import (
    listening_index_html,
    listening_settings,
    listening_tracks,
    snap_excerpt,
    write_listening_page,
)

RATE = 8000  # small files; the page code does not care about the rate
TARGETS = ["vocals", "bass"]
SOURCES = ["base", "other-variant", "oracle-dir"]
LABELS = {"base": "base", "other-variant": "other-variant", "oracle-dir": "oracle (phase-mix 4096)"}


class PageParser(HTMLParser):
    """Every <figure class='clip'> with its caption, <img> and <audio> attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.clips: list[dict] = []
        self._caption = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "figure" and attrs.get("class") == "clip":
            self.clips.append({"figure": attrs, "caption": ""})
        elif tag == "figcaption":
            self._caption = True
        elif tag in ("img", "audio") and self.clips:
            self.clips[-1][tag] = attrs

    def handle_endtag(self, tag):
        if tag == "figcaption":
            self._caption = False

    def handle_data(self, data):
        if self._caption:
            self.clips[-1]["caption"] += data


def museval_json(sdrs: dict[str, list[float | None]], win: float, hop: float) -> dict:
    """museval's TrackStore layout (time = i * hop, duration = win)."""
    return {
        "targets": [
            {
                "name": target,
                "frames": [
                    {"time": i * hop, "duration": win, "metrics": {"SDR": v, "SIR": 0.0, "SAR": 0.0, "ISR": 0.0}}
                    for i, v in enumerate(values)
                ],
            }
            for target, values in sdrs.items()
        ]
    }


@pytest.fixture
def track_files(tmp_path):
    """A 9 s stereo track: mixture, references, estimates of two variants and the oracle, and
    score JSONs (1 s frames) whose SDR we choose: 'other-variant' differs from 'base' most in
    frames 5-6."""
    rng = np.random.default_rng(0)
    n = 9 * RATE
    paths = {"references": {}, "estimates": {s: {} for s in SOURCES}, "scores": {}}
    ref = {t: (0.1 * rng.standard_normal((n, 2))).astype(np.float32) for t in TARGETS}
    sf.write(tmp_path / "mixture.wav", sum(ref.values()), RATE, subtype="PCM_16")
    for t in TARGETS:
        paths["references"][t] = tmp_path / f"{t}.wav"
        sf.write(paths["references"][t], ref[t], RATE, subtype="PCM_16")
        for s in SOURCES:
            paths["estimates"][s][t] = tmp_path / s / f"{t}.wav"
            paths["estimates"][s][t].parent.mkdir(exist_ok=True)
            noisy = ref[t] + 0.05 * rng.standard_normal((n, 2)).astype(np.float32)
            sf.write(paths["estimates"][s][t], noisy, RATE, subtype="FLOAT")
    frames = {
        "base": {"vocals": [1.0, 2.0, None, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], "bass": [0.5] * 9},
        "other-variant": {"vocals": [1.0, 2.0, None, 4.0, 5.0, 16.0, 27.0, 8.0, 9.0], "bass": [0.5] * 9},
        "oracle-dir": {"vocals": [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0], "bass": [None] * 9},
    }
    for s in SOURCES:
        paths["scores"][s] = tmp_path / f"{s}.json"
        paths["scores"][s].write_text(json.dumps(museval_json(frames[s], 1.0, 1.0)))
    return tmp_path, paths, frames


def write_page(tmp_path, paths, settings):
    return write_listening_page(
        track="song",
        mixture_path=tmp_path / "mixture.wav",
        reference_paths=paths["references"],
        estimate_paths=paths["estimates"],
        score_paths=paths["scores"],
        sources=SOURCES,
        labels=LABELS,
        oracle="oracle-dir",
        settings=listening_settings({"report": {"listening": settings}}),
        win=1.0,
        hop=1.0,
        rate=RATE,
        page=tmp_path / "out" / "song.html",
        summary=tmp_path / "out" / "song.json",
    )


def hand_median(values):
    finite = [v for v in values if v is not None]
    return statistics.median(finite) if finite else math.nan


def test_page_structure_audio_and_sdr(track_files):
    tmp_path, paths, frames = track_files
    record = write_page(tmp_path, paths, {"start": 2.2, "duration": 3.0, "pick": "fixed"})
    first, n = 2, 3  # 2.2 s snaps to frame 2; 3 s of 1 s frames
    parser = PageParser()
    parser.feed((tmp_path / "out" / "song.html").read_text())
    # mixture once, then per target: reference, two variants, the oracle
    assert len(parser.clips) == 1 + len(TARGETS) * (1 + len(SOURCES))
    roles = [c["figure"]["data-role"] for c in parser.clips]
    assert roles == ["mixture"] + ["reference", "estimate", "estimate", "oracle"] * len(TARGETS)
    mixture_ref, _ = sf.read(tmp_path / "mixture.wav", start=first * RATE, frames=n * RATE, always_2d=True)
    for clip in parser.clips:
        assert clip["caption"].strip(), clip["figure"]
        assert clip["img"]["alt"].startswith("spectrogram of ") and clip["caption"] in clip["img"]["alt"]
        png = base64.b64decode(clip["img"]["src"].removeprefix("data:image/png;base64,"))
        assert png.startswith(b"\x89PNG")
        assert clip["audio"]["aria-label"].startswith(clip["caption"])
        assert clip["audio"]["src"].startswith("data:audio/flac;base64,")
        audio, rate = sf.read(io.BytesIO(base64.b64decode(clip["audio"]["src"].split(",", 1)[1])), always_2d=True)
        assert rate == RATE and audio.shape == (n * RATE, 2)
        if clip["figure"]["data-role"] == "mixture":  # 16-bit source: lossless, original level
            np.testing.assert_array_equal(audio, mixture_ref)
        else:
            source = {v: k for k, v in LABELS.items()}.get(clip["figure"]["data-source"])
            target = clip["figure"]["data-target"]
            if source is not None:
                expected = hand_median(frames[source][target][first : first + n])
                if math.isnan(expected):
                    assert "data-sdr" not in clip["figure"] and math.isnan(record["sdr"][LABELS[source]][target])
                else:
                    assert float(clip["figure"]["data-sdr"]) == pytest.approx(expected, abs=1e-12)
                    assert record["sdr"][LABELS[source]][target] == pytest.approx(expected, abs=1e-12)
                # estimates (float) within the 16-bit floor of the file's samples
                original, _ = sf.read(paths["estimates"][source][target], start=first * RATE, frames=n * RATE)
                assert np.max(np.abs(audio - original)) <= 1 / 32768
    # vocals of base over frames 2..4 holds a null frame: median of 4 and 5
    assert record["sdr"]["base"]["vocals"] == 4.5
    assert record["excerpt"]["start_s"] == 2.0 and record["excerpt"]["end_s"] == 5.0


def test_most_different_places_the_excerpt_where_variants_differ(track_files):
    tmp_path, paths, frames = track_files
    record = write_page(tmp_path, paths, {"start": 0.0, "duration": 2.0, "pick": "most_different"})
    # |ΔSDR| of other-variant vs base is 10 and 20 in vocals frames 5 and 6, zero elsewhere
    assert record["excerpt"]["first"] == 5 and record["excerpt"]["n_frames"] == 2
    assert record["sdr"]["other-variant"]["vocals"] == statistics.median([16.0, 27.0])
    index = listening_index_html([record])
    assert "song" in index and "21.50" in index


def test_snap_excerpt_fits_the_track():
    assert snap_excerpt(30.0, 4.0, 3, 1.0, 1.0) == (0, 3)  # a 3-frame track: all of it
    assert snap_excerpt(30.0, 4.0, 12, 1.0, 1.0) == (8, 4)  # moved back to the last 4 frames
    assert snap_excerpt(1.4, 2.6, 12, 1.0, 1.0) == (1, 3)
    assert snap_excerpt(3.0, 3.0, 20, 2.0, 0.5) == (6, 3)  # frames 6..8 cover 3.0 .. 3.0 + 1.0 + 2.0 s
    with pytest.raises(ValueError, match="shorter than evaluation.win"):
        snap_excerpt(0.0, 3.0, 0, 1.0, 1.0)


def test_listening_tracks_by_count_or_name():
    settings = listening_settings({})
    assert listening_tracks(settings, ["a", "b", "c"]) == ["a", "b"]
    assert listening_tracks({**settings, "tracks": ["c"]}, ["a", "b", "c"]) == ["c"]
    with pytest.raises(ValueError, match=r"report.listening.tracks: 'x' not among the test tracks"):
        listening_tracks({**settings, "tracks": ["x"]}, ["a", "b"])


def test_schema_rejects_a_bad_pick(repo_root):
    import yaml

    from umxmr.config_check import config_errors

    config = yaml.safe_load((repo_root / "config.yaml").read_text())
    schema = yaml.safe_load((repo_root / "schemas" / "config.schema.yaml").read_text())
    assert config_errors(config, schema) == []
    config["report"]["listening"]["pick"] = "loudest"
    assert config_errors(config, schema) == [
        "report.listening.pick: 'loudest' is not allowed; allowed values: fixed, most_different"
    ]


def test_png_decodes_to_the_palette_colours():
    """Our PNG writer against Pillow's decoder: every pixel is the palette colour of its dB value,
    low frequencies at the bottom."""
    from PIL import Image

    from umxmr.report.listening import PALETTE, png_data_uri

    image_db = np.linspace(-80, 0, 5 * 7).reshape(5, 7)  # rows: low band first
    uri = png_data_uri(image_db, -80.0, 0.0)
    decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB"))
    assert decoded.shape == (5, 7, 3)
    expected = PALETTE[np.round((image_db + 80) / 80 * 255).astype(int)][::-1]
    np.testing.assert_array_equal(decoded, expected)
    assert tuple(decoded[-1, 0]) == tuple(PALETTE[0]) and tuple(decoded[0, -1]) == tuple(PALETTE[255])


def test_an_estimate_over_full_scale_scales_the_whole_excerpt_once(track_files):
    """Levels are kept unless a sample would clip; then one gain for every clip, stated on the page."""
    tmp_path, paths, _ = track_files
    loud, rate = sf.read(paths["estimates"]["base"]["vocals"], always_2d=True)
    loud[RATE * 3] = 2.0  # one sample at +6 dBFS inside the excerpt
    sf.write(paths["estimates"]["base"]["vocals"], loud, rate, subtype="FLOAT")
    write_page(tmp_path, paths, {"start": 2.0, "duration": 3.0, "pick": "fixed"})
    text = (tmp_path / "out" / "song.html").read_text()
    gain = 0.999 / 2.0
    assert f"scaled by {20 * math.log10(gain):.2f} dB" in text
    parser = PageParser()
    parser.feed(text)
    mixture = next(c for c in parser.clips if c["figure"]["data-role"] == "mixture")
    decoded, _ = sf.read(io.BytesIO(base64.b64decode(mixture["audio"]["src"].split(",", 1)[1])), always_2d=True)
    original, _ = sf.read(tmp_path / "mixture.wav", start=2 * RATE, frames=3 * RATE, always_2d=True)
    assert np.max(np.abs(decoded - gain * original)) <= 1 / 32768
