"""The listening page of the report: a few excerpts of test tracks, each target's reference,
every evaluated variant's estimate and the oracle's, as audio players with spectrograms and
the excerpt's SDR.

Snakemake 9's report has no audio type and embeds every result as base64, so one page per
track is a self-contained HTML file: audio as ``data:audio/flac`` URIs (FLAC, 16-bit: lossless
for 16-bit dataset audio; float estimates are rounded to 16 bits, a quantisation floor about
98 dB under full scale; levels as separated, with one common gain below 1 for a whole excerpt
only if a sample would clip) and spectrograms as ``data:image/png`` URIs, one colour scale
for the whole excerpt.

Excerpts lie on museval's frame grid (:mod:`umxmr.evaluation.evaluate`: frame ``i`` covers
samples ``[i * int(hop * rate), i * int(hop * rate) + int(win * rate))``): an excerpt is the
frames ``first .. first + n - 1``, i.e. ``(n - 1) * hop + win`` samples from ``first * hop``,
and its SDR is the median of those frames' SDR in the score JSON (NaN frames skipped, as
museval's EvalStore does).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "LISTENING_DEFAULTS",
    "Excerpt",
    "excerpt_sdr",
    "frame_sdrs",
    "listening_index_html",
    "listening_page_html",
    "listening_settings",
    "listening_tracks",
    "most_different_frame",
    "snap_excerpt",
    "write_listening_page",
]

# report.listening when config.yaml leaves keys out: the first two test tracks, 4 s from 30 s
# (clamped to the track: the last 4 s of a shorter one), at the configured start.
LISTENING_DEFAULTS: dict[str, Any] = {"tracks": 2, "start": 30.0, "duration": 4.0, "pick": "fixed"}
SPECTROGRAM_RANGE_DB = 80.0
FLAC_SUBTYPE = "PCM_16"


def listening_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """``report.listening`` of `config` over :data:`LISTENING_DEFAULTS` (torch- and plot-free:
    the rules call it at parse time)."""
    given = (config.get("report") or {}).get("listening") or {}
    return {**LISTENING_DEFAULTS, **given}


def listening_tracks(settings: Mapping[str, Any], test_tracks: Sequence[str]) -> list[str]:
    """The test tracks with an excerpt: the names given, or the first `tracks` test tracks.

    Raises ValueError naming ``report.listening.tracks`` for a name that is not a test track.
    """
    tracks = settings["tracks"]
    if isinstance(tracks, int):
        return list(test_tracks)[:tracks]
    unknown = [t for t in tracks if t not in test_tracks]
    if unknown:
        raise ValueError(
            f"report.listening.tracks: {', '.join(map(repr, unknown))} not among the test tracks "
            f"({', '.join(test_tracks)}); name test tracks or give a count"
        )
    return list(tracks)


@dataclass(frozen=True)
class Excerpt:
    """One excerpt on museval's frame grid: frames ``first .. first + n_frames - 1``."""

    track: str
    first: int  # first museval frame
    n_frames: int
    rate: int  # Hz
    win: int  # museval window, samples
    hop: int  # museval hop, samples
    pick: str  # how the start was chosen (words for the page)

    @property
    def start(self) -> int:
        """First sample."""
        return self.first * self.hop

    @property
    def length(self) -> int:
        """Samples: (n_frames - 1) * hop + win."""
        return (self.n_frames - 1) * self.hop + self.win

    @property
    def seconds(self) -> tuple[float, float]:
        return self.start / self.rate, (self.start + self.length) / self.rate


def frame_sdrs(scores: Mapping[str, Any], target: str, path: str = "score JSON") -> np.ndarray:
    """Per-frame SDR of `target` in a museval track JSON (null → NaN), in frame order.

    Raises ValueError naming `path` when the target or its frames are missing.
    """
    for entry in scores.get("targets", []):
        if entry.get("name") == target:
            try:
                return np.array(
                    [math.nan if f["metrics"]["SDR"] is None else float(f["metrics"]["SDR"]) for f in entry["frames"]],
                    dtype=float,
                )
            except (KeyError, TypeError, ValueError) as err:
                raise ValueError(f"{path}: target {target!r} has malformed frames ({err!r})") from err
    raise ValueError(f"{path}: no target {target!r} in this museval JSON; re-run its evaluation")


def snap_excerpt(start: float, duration: float, n_total: int, win: float, hop: float) -> tuple[int, int]:
    """(first frame, frame count) of an excerpt of about `duration` s from `start` s, on a grid
    of `n_total` frames of `win` s every `hop` s: the start rounds to the nearest frame, the
    length to whole frames (at least one), and the excerpt moves back (or shrinks) to fit.
    """
    if n_total < 1:
        raise ValueError("the track has no complete museval frame: it is shorter than evaluation.win")
    n = max(1, round((duration - win) / hop) + 1)
    n = min(n, n_total)
    first = min(max(0, round(start / hop)), n_total - n)
    return first, n


def excerpt_sdr(sdrs: np.ndarray, first: int, n_frames: int) -> float:
    """Median SDR of frames ``first .. first + n_frames - 1``, NaN frames skipped (NaN if all are)."""
    window = np.asarray(sdrs, dtype=float)[first : first + n_frames]
    window = window[~np.isnan(window)]
    return float(np.median(window)) if window.size else math.nan


def most_different_frame(
    baseline: Mapping[str, np.ndarray], others: Sequence[Mapping[str, np.ndarray]], n_frames: int
) -> int:
    """First frame of the `n_frames` window where the others' per-frame SDR differs most from the
    baseline's: mean of |ΔSDR| over the window's frames, the targets and the others (NaN frames
    skipped); the earliest window wins a tie, and windows without any finite difference lose."""
    diffs = [np.abs(np.asarray(o[t], float) - np.asarray(baseline[t], float)) for o in others for t in baseline]
    stack = np.vstack(diffs)  # (others x targets, frames)
    n_total = stack.shape[1]
    best, best_score = 0, -math.inf
    for first in range(max(1, n_total - n_frames + 1)):
        window = stack[:, first : first + n_frames]
        finite = window[~np.isnan(window)]
        score = float(finite.mean()) if finite.size else -math.inf
        if score > best_score:
            best, best_score = first, score
    return best


# --- audio and images as data URIs -------------------------------------------------------


def flac_data_uri(audio: np.ndarray, rate: int) -> str:
    """`(samples, channels)` float audio as a 16-bit FLAC data URI (values in [-1, 1))."""
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, audio, rate, format="FLAC", subtype=FLAC_SUBTYPE)
    return "data:audio/flac;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def spectrogram_db(audio: np.ndarray, rate: int, columns: int = 256, rows: int = 96) -> np.ndarray:
    """`(rows, columns)` power spectrogram in dB re a full-scale sine of the channel mean:
    Hann 2048-sample frames, hop chosen for about `columns` frames, bins pooled (mean power)
    into `rows` log-spaced bands from 30 Hz to 20 kHz (low band first; a band narrower than a
    bin takes the nearest bin)."""
    mono = np.asarray(audio, dtype=np.float64).mean(axis=1)
    n_fft = 2048
    if mono.size < n_fft:
        mono = np.pad(mono, (0, n_fft - mono.size))
    hop = max(1, (mono.size - n_fft) // max(1, columns - 1))
    frames = np.lib.stride_tricks.sliding_window_view(mono, n_fft)[::hop][:columns]
    window = np.hanning(n_fft)
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2 / (window.sum() / 2) ** 2  # (columns, bins)
    freqs = np.fft.rfftfreq(n_fft, 1 / rate)
    edges = np.geomspace(30.0, min(20000.0, rate / 2), rows + 1)
    pool = (freqs[None, :] >= edges[:-1, None]) & (freqs[None, :] < edges[1:, None])  # (rows, bins)
    empty = ~pool.any(axis=1)
    centres = np.sqrt(edges[:-1] * edges[1:])
    pool[empty, np.abs(freqs[None, :] - centres[empty, None]).argmin(axis=1)] = True
    bands = (pool / pool.sum(axis=1, keepdims=True)) @ power.T
    return 10 * np.log10(bands + 1e-12)


# matplotlib's "magma" at 0, 1/4, 1/2, 3/4 and 1, interpolated linearly to 256 colours (the
# page needs no matplotlib: its import alone costs seconds per job on a loaded machine)
_MAGMA_ANCHORS = np.array([[0, 0, 4], [81, 18, 124], [183, 55, 121], [252, 137, 97], [252, 253, 191]], float)
PALETTE = np.stack(
    [np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_MAGMA_ANCHORS)), _MAGMA_ANCHORS[:, c]) for c in range(3)],
    axis=1,
).round().astype(np.uint8)


def png_bytes(indices: np.ndarray, palette: np.ndarray = PALETTE) -> bytes:
    """An 8-bit palette PNG (colour type 3, PNG specification 1.2) of `(height, width)` uint8
    `indices` into `palette` (`(256, 3)` uint8), row 0 at the top."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    height, width = indices.shape
    raw = np.hstack([np.zeros((height, 1), np.uint8), indices.astype(np.uint8)])  # filter 0 per row
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0))
        + chunk(b"PLTE", palette.astype(np.uint8).tobytes())
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 9))
        + chunk(b"IEND", b"")
    )


def png_data_uri(image_db: np.ndarray, vmin: float, vmax: float) -> str:
    """A spectrogram (low frequencies in row 0, drawn at the bottom) as a PNG data URI, colours
    from vmin to vmax dB on :data:`PALETTE` (values outside clip to its ends)."""
    scaled = np.clip((np.asarray(image_db, float) - vmin) / (vmax - vmin), 0.0, 1.0)
    indices = np.round(scaled[::-1] * 255).astype(np.uint8)
    return "data:image/png;base64," + base64.b64encode(png_bytes(indices)).decode("ascii")


# --- the page -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Clip:
    """One player of the page: what it is, its audio, and its SDR (None for mixture and reference)."""

    role: str  # mixture, reference, estimate, oracle
    source: str  # mixture, reference, a variant name or the oracle's label
    target: str | None
    audio: np.ndarray  # (samples, channels)
    sdr: float | None = None


STYLE = """
body{font-family:sans-serif;margin:1em}
table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:4px;vertical-align:top;text-align:left}
figure{margin:0}
figcaption{font-size:12px;font-weight:bold}
img{display:block;width:224px;height:90px}
audio{width:224px;display:block}
.sdr{font-size:12px}
"""


def _fmt_sdr(value: float | None) -> str:
    if value is None:
        return ""
    return "SDR n/a (silent frames)" if math.isnan(value) else f"SDR {value:.2f} dB"


def _cell(clip: Clip, uri_png: str, uri_audio: str, rowspan: int = 1) -> str:
    label = clip.source if clip.target is None else f"{clip.source} · {clip.target}"
    what = {"mixture": "mixture", "reference": "reference", "estimate": "estimate", "oracle": "oracle estimate"}[
        clip.role
    ]
    span = f" rowspan='{rowspan}'" if rowspan > 1 else ""
    sdr = _fmt_sdr(clip.sdr)
    attrs = (
        f"data-role='{clip.role}' data-source='{html.escape(clip.source, quote=True)}' "
        f"data-target='{html.escape(clip.target or '', quote=True)}' data-samples='{clip.audio.shape[0]}'"
    )
    sdr_attr = "" if clip.sdr is None or math.isnan(clip.sdr) else f" data-sdr='{clip.sdr!r}'"
    return (
        f"<td{span}><figure class='clip' {attrs}{sdr_attr}>"
        f"<figcaption>{html.escape(label)}</figcaption>"
        f"<img src='{uri_png}' alt='spectrogram of {html.escape(label, quote=True)} ({what})'>"
        f"<audio controls preload='metadata' src='{uri_audio}' "
        f"aria-label='{html.escape(label, quote=True)} ({what})' title='{html.escape(label, quote=True)}'></audio>"
        f"<div class='sdr'>{sdr}</div></figure></td>"
    )


def listening_page_html(excerpt: Excerpt, mixture: np.ndarray, rows: Sequence[Sequence[Clip]], note: str = "") -> str:
    """The page of one excerpt: a table with one row per target (reference, estimates, oracle),
    the mixture in the first column across all rows; one colour scale for every spectrogram.

    `mixture` is `(samples, channels)`; every clip must have ``excerpt.length`` samples.
    """
    clips = [Clip("mixture", "mixture", None, mixture), *(c for row in rows for c in row)]
    for clip in clips:
        if clip.audio.shape[0] != excerpt.length:
            raise ValueError(
                f"{excerpt.track}: {clip.source} {clip.target or ''} has {clip.audio.shape[0]} samples, "
                f"the excerpt {excerpt.length}"
            )
    peak = max(float(np.max(np.abs(c.audio))) for c in clips)
    gain = 1.0 if peak < 1.0 else 0.999 / peak
    specs = [spectrogram_db(c.audio, excerpt.rate) for c in clips]
    vmax = math.ceil(max(float(s.max()) for s in specs) / 5) * 5
    vmin = vmax - SPECTROGRAM_RANGE_DB
    png = [png_data_uri(s, vmin, vmax) for s in specs]
    audio = [flac_data_uri(c.audio * gain, excerpt.rate) for c in clips]

    t0, t1 = excerpt.seconds
    header = ["target", "mixture", "reference", *[c.source for c in rows[0][1:]]] if rows else []
    level = (
        "original levels"
        if gain == 1.0
        else f"every clip of this excerpt scaled by {20 * math.log10(gain):.2f} dB so that none clips"
    )
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>listening: {html.escape(excerpt.track)}</title><style>{STYLE}</style></head><body>",
        f"<h2>{html.escape(excerpt.track)}: {t0:.2f}–{t1:.2f} s</h2>",
        f"<p>Excerpt: museval frames {excerpt.first}–{excerpt.first + excerpt.n_frames - 1} "
        f"({excerpt.win / excerpt.rate:g} s windows every {excerpt.hop / excerpt.rate:g} s), {excerpt.pick}. "
        f"SDR: median of those frames in the score JSON. Audio: FLAC 16-bit ({level}; "
        f"estimates rounded to 16 bits, floor about 98 dB under full scale). "
        f"Spectrograms: power of the channel mean, 30 Hz–20 kHz on a log axis, colour "
        f"{vmin:g} to {vmax:g} dB (re full scale) for every image of this excerpt.{html.escape(note)}</p>",
        "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>",
    ]
    index = 1
    for r, row in enumerate(rows):
        cells = [f"<th>{html.escape(row[0].target or '')}</th>"]
        if r == 0:
            cells.append(_cell(clips[0], png[0], audio[0], rowspan=len(rows)))
        for clip in row:
            cells.append(_cell(clip, png[index], audio[index]))
            index += 1
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts) + "\n"


def write_listening_page(
    track: str,
    mixture_path: Path,
    reference_paths: Mapping[str, Path],
    estimate_paths: Mapping[str, Mapping[str, Path]],
    score_paths: Mapping[str, Path],
    sources: Sequence[str],
    labels: Mapping[str, str],
    oracle: str,
    settings: Mapping[str, Any],
    win: float,
    hop: float,
    rate: int,
    page: Path,
    summary: Path,
) -> dict[str, Any]:
    """Read one track's excerpt from its files and write its page (HTML) and summary (JSON).

    `sources` are the evaluated variants, baseline first, then `oracle`; ``estimate_paths[source]
    [target]`` and ``score_paths[source]`` are their estimates and museval JSONs, `labels` their
    names on the page. `settings` is :func:`listening_settings`; `win`/`hop` are
    evaluation.win/hop in s. Returns the summary (excerpt and SDR per source and target).
    """
    from umxmr.atomic import write_text
    from umxmr.data.audio import read_audio

    targets = list(reference_paths)
    scores = {s: json.loads(Path(score_paths[s]).read_text()) for s in sources}
    sdrs = {s: {t: frame_sdrs(scores[s], t, str(score_paths[s])) for t in targets} for s in sources}
    n_total = min(len(v) for per in sdrs.values() for v in per.values())
    win_n, hop_n = int(win * rate), int(hop * rate)
    try:
        first, n = snap_excerpt(float(settings["start"]), float(settings["duration"]), n_total, win, hop)
    except ValueError as err:
        raise ValueError(f"{score_paths[sources[0]]}: {err}") from err
    note = ""
    if settings["pick"] == "most_different":
        variants = [s for s in sources if s != oracle]
        others = variants[1:] or [oracle]
        first = most_different_frame(sdrs[variants[0]], [sdrs[o] for o in others], n)
        pick = (
            f"placed where {', '.join(labels[o] for o in others)} differ most from {labels[variants[0]]} "
            "in per-frame SDR (mean |ΔSDR| over the excerpt's frames and the targets)"
        )
        if others == [oracle]:
            note = " Only one variant is evaluated, so the excerpt is where it differs most from the oracle."
    else:
        pick = f"starting at the configured {float(settings['start']):g} s (snapped to a frame, kept inside the track)"
    excerpt = Excerpt(track, first, n, rate, win_n, hop_n, pick)

    def read(path: Path) -> np.ndarray:
        audio = read_audio(Path(path), start=excerpt.start, frames=excerpt.length, dtype="float32")
        if audio.shape[0] != excerpt.length:
            raise ValueError(f"{path}: {audio.shape[0]} samples from {excerpt.start}, need {excerpt.length}")
        return audio

    rows = []
    for target in targets:
        row = [Clip("reference", "reference", target, read(reference_paths[target]))]
        for source in sources:
            role = "oracle" if source == oracle else "estimate"
            sdr = excerpt_sdr(sdrs[source][target], first, n)
            row.append(Clip(role, labels[source], target, read(estimate_paths[source][target]), sdr))
        rows.append(row)
    text = listening_page_html(excerpt, read(mixture_path), rows, note)
    record = {
        "track": track,
        "excerpt": {**asdict(excerpt), "start_s": excerpt.seconds[0], "end_s": excerpt.seconds[1]},
        "page": str(page),
        "sdr": {labels[s]: {t: excerpt_sdr(sdrs[s][t], first, n) for t in targets} for s in sources},
    }
    write_text(Path(summary), json.dumps(record, indent=2))
    write_text(Path(page), text)
    return record


def listening_index_html(records: Sequence[Mapping[str, Any]]) -> str:
    """The index of the listening pages: each excerpt's place and its SDR per source and target."""
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>listening pages</title>",
        f"<style>{STYLE}</style></head><body><h2>Listening pages</h2>",
        "<p>One page per excerpt in this report's <b>Listening</b> category (named by track): "
        "mixture, reference, each evaluated variant's estimate and the oracle's, as players with "
        "spectrograms. The SDR below is each excerpt's (median of its museval frames), not the "
        "track's.</p>",
    ]
    for record in records:
        ex = record["excerpt"]
        targets = list(next(iter(record["sdr"].values())))
        parts.append(
            f"<h3>{html.escape(record['track'])}: {ex['start_s']:.2f}–{ex['end_s']:.2f} s</h3>"
            f"<p>{html.escape(ex['pick'])}</p><table><tr><th>SDR (dB)</th>"
            + "".join(f"<th>{html.escape(t)}</th>" for t in targets)
            + "</tr>"
        )
        for source, values in record["sdr"].items():
            cells = "".join(f"<td>{'n/a' if math.isnan(v) else f'{v:.2f}'}</td>" for v in values.values())
            parts.append(f"<tr><th>{html.escape(source)}</th>{cells}</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
