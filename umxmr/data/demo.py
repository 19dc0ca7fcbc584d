"""Deterministic synthetic dataset in MUSDB18-HQ layout ("demo" data).

Why this exists: the whole pipeline (training, separation, museval scoring)
must run end to end -- in CI and on machines without the real MUSDB18-HQ --
on data that behaves like music.  The four sources are synthesised so that
they are learnable and clearly distinct (drum transients, low plucked bass,
chord pads/keys, a formant-shaped sung melody), every track differs from every
other one (tempo, key, levels, panning, timbre), and the mixture equals the sum
of the stems bit-exactly after 16-bit quantisation, so oracle/"sum of
estimates" checks are exact.

Everything is derived from ``numpy.random.SeedSequence([seed, split, index])``
so the same arguments always give byte-identical files.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import yaml

from umxmr.atomic import atomic_dir

__all__ = ["SPLITS", "STEMS", "demo_track_names", "generate_demo", "generate_periphery_raw", "render_track"]

STEMS = ("drums", "bass", "other", "vocals")  # MUSDB order (stem ids 1..4)
SPLITS = ("train", "valid", "test")

# valid tracks live in train/ as in MUSDB18-HQ; musdb tells them apart by name
_SUBSET_DIR = {"train": "train", "valid": "train", "test": "test"}
_SPLIT_CODE = {"train": 0, "valid": 1, "test": 2}

_INT16_SCALE = 32768.0
_PEAK_LIMIT = 10.0 ** (-1.0 / 20.0)  # keep the float mixture below -1 dBFS
# nominal stem RMS (dBFS) before the per-track offsets of up to +-3 dB
_LEVEL_DB = {"drums": -17.0, "bass": -19.0, "other": -21.0, "vocals": -18.0}
# every stem must exceed this RMS in every 1 s window (museval skips frames
# whose reference/estimate is all-zero, which would bias the scores)
_MIN_WINDOW_RMS = 1e-3

_MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
_MINOR = np.array([0, 2, 3, 5, 7, 8, 10])
# chord roots as 0-based scale degrees
_PROGRESSIONS = {
    "major": ((0, 4, 5, 3), (0, 5, 3, 4), (5, 3, 0, 4), (0, 3, 4, 3), (0, 3, 5, 4)),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 3, 6, 2)),
}
# (F1, F2, F3) in Hz for a, e, i, o, u -- the vowel changes per sung note
_VOWELS = np.array(
    [
        [800.0, 1200.0, 2500.0],
        [500.0, 1850.0, 2500.0],
        [320.0, 2300.0, 3000.0],
        [500.0, 900.0, 2400.0],
        [340.0, 800.0, 2300.0],
    ]
)
_FORMANT_BW = np.array([110.0, 140.0, 200.0])
_FORMANT_GAIN = np.array([1.0, 0.55, 0.3])


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------


def demo_track_names(n_train: int, n_valid: int, n_test: int) -> dict[str, list[str]]:
    """Track names per split, e.g. ``demo-train-01``.

    Names encode the split so that valid tracks can share ``train/`` with the
    train tracks (MUSDB18-HQ layout) and still be selected by name through
    ``validation_tracks`` in ``setup.yaml``.
    """
    counts = {"train": n_train, "valid": n_valid, "test": n_test}
    names: dict[str, list[str]] = {}
    for split, n in counts.items():
        _check_count(split, n)
        width = max(2, len(str(n)))
        names[split] = [f"demo-{split}-{i:0{width}d}" for i in range(1, n + 1)]
    return names


def render_track(seed: int, split: str, index: int, n_frames: int, rate: int = 44100) -> dict[str, np.ndarray]:
    """Synthesise one track: int16 arrays of shape (n_frames, 2).

    Returns the four ``STEMS`` plus ``"mixture"``, which is the exact integer
    sum of the quantised stems (checked not to clip).  Exposed separately from
    :func:`generate_demo` so that tests and on-the-fly data can use the same
    synthesis without touching the disk.
    """
    if split not in _SPLIT_CODE:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    _check_seed(seed)
    if index < 0:
        raise ValueError(f"index must be >= 0, got {index}")
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    if rate < 8000:
        raise ValueError(f"rate must be >= 8000 Hz, got {rate}")

    seq = np.random.SeedSequence([seed, _SPLIT_CODE[split], index])
    rngs = dict(
        zip(("arrangement", "mix", *STEMS), (np.random.default_rng(s) for s in seq.spawn(2 + len(STEMS))), strict=True)
    )
    arr = _make_arrangement(rngs["arrangement"], n_frames / rate)
    renderers = {
        "drums": _render_drums,
        "bass": _render_bass,
        "other": _render_other,
        "vocals": _render_vocals,
    }
    stems = {name: renderers[name](rngs[name], arr, n_frames, rate) for name in STEMS}

    # per-track levels: nominal level +- 3 dB, then one common gain for headroom
    mix_rng = rngs["mix"]
    for name in STEMS:
        x = stems[name]
        rms = math.sqrt(float(np.mean(x * x)))
        if rms <= 0.0:
            raise RuntimeError(f"demo synthesis produced a silent {name} stem")
        level = _LEVEL_DB[name] + mix_rng.uniform(-3.0, 3.0)
        stems[name] = x * (10.0 ** (level / 20.0) / rms)
    float_mix = sum(stems[name] for name in STEMS)
    peak = max(float(np.max(np.abs(float_mix))), *(float(np.max(np.abs(stems[n]))) for n in STEMS))
    gain = min(1.0, _PEAK_LIMIT / peak)

    out: dict[str, np.ndarray] = {}
    mix = np.zeros((n_frames, 2), dtype=np.int32)
    for name in STEMS:
        q = np.rint(stems[name] * (gain * _INT16_SCALE)).astype(np.int32)
        mix += q
        out[name] = q
    lim = int(_INT16_SCALE) - 1
    for name, q in (*out.items(), ("mixture", mix)):
        if int(np.max(np.abs(q))) > lim:  # cannot happen with _PEAK_LIMIT; guards regressions
            raise RuntimeError(f"demo {name} would clip ({int(np.max(np.abs(q)))} > {lim})")
    out["mixture"] = mix
    result = {name: q.astype(np.int16) for name, q in out.items()}
    _check_not_silent(result, rate)
    return result


def generate_demo(
    root: Path,
    *,
    n_train: int,
    n_valid: int,
    n_test: int,
    duration: float,
    seed: int,
    rate: int = 44100,
) -> None:
    """Write a MUSDB18-HQ-layout demo dataset to ``root``.

    Layout: ``root/train/<track>/`` (train and valid tracks),
    ``root/test/<track>/``, each with ``mixture.wav`` and one wav per stem
    (stereo, 16-bit PCM, ``round(duration * rate)`` frames), plus
    ``root/setup.yaml`` for ``musdb.DB(..., setup_file="setup.yaml",
    is_wav=True)`` whose ``validation_tracks`` are the valid tracks.

    The dataset is built in a temporary sibling directory and renamed into
    place, so an interrupted run never leaves a half-written ``root`` that a
    build system could mistake for a finished one.  ``root`` must not exist.
    """
    root = Path(root)
    names = demo_track_names(n_train, n_valid, n_test)
    _check_seed(seed)
    if not isinstance(rate, (int, np.integer)) or isinstance(rate, bool) or rate < 8000:
        raise ValueError(f"rate must be an integer >= 8000, got {rate!r}")
    if not (math.isfinite(duration) and duration > 0):
        raise ValueError(f"duration must be a finite number > 0, got {duration!r}")
    n_frames = int(round(duration * rate))
    if n_frames < 1:
        raise ValueError(f"duration {duration!r} gives no frames at {rate} Hz")
    if os.path.lexists(root):
        raise FileExistsError(f"demo dataset root already exists: {root}")

    with atomic_dir(root) as tmp:
        for split in SPLITS:
            for index, track in enumerate(names[split]):
                stems = render_track(seed, split, index, n_frames, rate)
                folder = tmp / _SUBSET_DIR[split] / track
                folder.mkdir(parents=True)
                for name in ("mixture", *STEMS):
                    sf.write(folder / f"{name}.wav", stems[name], rate, subtype="PCM_16", format="WAV")
        (tmp / "test").mkdir(exist_ok=True)  # both subsets exist even with no tracks
        (tmp / "train").mkdir(exist_ok=True)
        with open(tmp / "setup.yaml", "w", encoding="utf-8") as f:
            yaml.safe_dump(_setup_dict(rate, names["valid"]), f, sort_keys=False)


# Free-form stem names of a raw Periphery-like song, and how each is made from the four
# rendered sources: "other" is split in two so that two raw stems sum into one target.
PERIPHERY_STEMS = {
    "Drums": ("drums", 1),
    "Bass DI": ("bass", 1),
    "Lead Vocals": ("vocals", 1),
    "Rhythm Guitars": ("other", 0),
    "Synths, Strings and Subs": ("other", 1),
}


def generate_periphery_raw(root: Path, *, songs: int, duration: float, seed: int) -> list[str]:
    """Write a small raw tree shaped like the Periphery stems: one folder of free-form stems per song.

    Why: the demo must exercise the conversion to MUSDB layout (free-form names, a stem that
    maps to no target, a 48 kHz song) without the band's audio. Every second song is 48 kHz.
    The sources come from `render_track` on split "train" with indices after the demo's own.
    Returns the song names.
    """
    root = Path(root)
    _check_count("songs", songs)
    names = [f"Demo Song - Part {i:02d}" for i in range(1, songs + 1)]
    with atomic_dir(root) as tmp:
        for index, name in enumerate(names):
            rate = 48000 if index % 2 else 44100
            stems = render_track(seed, "train", 1000 + index, int(round(duration * rate)), rate)
            halves = {1: stems["other"] // 2}
            halves[0] = stems["other"] - halves[1]
            folder = tmp / name
            folder.mkdir()
            for stem, (source, part) in PERIPHERY_STEMS.items():
                audio = halves[part] if source == "other" else stems[source]
                sf.write(folder / f"{stem}.wav", audio, rate, subtype="PCM_16", format="WAV")
    return names


# --------------------------------------------------------------------------
# helpers: validation, setup file, checks
# --------------------------------------------------------------------------


def _check_count(split: str, n: int) -> None:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n_{split} must be a non-negative integer, got {n!r}")


def _check_seed(seed: int) -> None:
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")


def _setup_dict(rate: int, validation_tracks: list[str]) -> dict:
    """Same structure as musdb's ``configs/mus.yaml`` (minus the download URL)."""
    return {
        "sample_rate": float(rate),
        "sources": {s: f"{s}.wav" for s in ("vocals", "drums", "bass", "other")},
        "mixture": "mixture.wav",
        "stem_ids": {"mixture": 0, **{s: i + 1 for i, s in enumerate(STEMS)}},
        "targets": {
            "vocals": {"vocals": 1},
            "drums": {"drums": 1},
            "bass": {"bass": 1},
            "other": {"other": 1},
            "accompaniment": {"bass": 1, "drums": 1, "other": 1},
            "linear_mixture": {"vocals": 1, "bass": 1, "drums": 1, "other": 1},
        },
        "validation_tracks": list(validation_tracks),
    }


def _window_rms(x: np.ndarray, win: int, hop: int) -> np.ndarray:
    """RMS per channel of windows ``x[s:s+win]``, s = 0, hop, ..., last one flush with the end."""
    n = x.shape[0]
    win = min(win, n)
    starts = np.arange(0, n - win + 1, hop)
    if starts[-1] != n - win:
        starts = np.append(starts, n - win)
    c = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x.astype(np.float64) ** 2, axis=0)])
    return np.sqrt((c[starts + win] - c[starts]) / win)


def _check_not_silent(tracks: dict[str, np.ndarray], rate: int) -> None:
    for name in STEMS:
        rms = _window_rms(tracks[name] / _INT16_SCALE, rate, max(1, rate // 4))
        if float(rms.min()) < _MIN_WINDOW_RMS:
            raise RuntimeError(f"demo {name} stem is (nearly) silent in a 1 s window")


# --------------------------------------------------------------------------
# helpers: music
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Arrangement:
    """Shared musical skeleton of a track, so the sources fit together."""

    beat: float  # seconds per beat
    tonic: int  # pitch class 0..11
    scale: np.ndarray  # 7 semitone offsets
    chord_starts: np.ndarray  # seconds, first is 0
    chord_degrees: np.ndarray  # 0-based scale degree of each chord root
    sevenths: bool

    def semitones(self, degree: np.ndarray | int) -> np.ndarray:
        """Semitones above the tonic of a (possibly > 6 or negative) scale degree."""
        d = np.asarray(degree)
        return 12 * (d // 7) + self.scale[d % 7]

    def chord_index(self, t: np.ndarray | float) -> np.ndarray:
        return np.searchsorted(self.chord_starts, t, side="right") - 1

    def chord_tones(self, i: int) -> np.ndarray:
        """Semitones above the chord root pitch class (root, 3rd, 5th[, 7th])."""
        deg = int(self.chord_degrees[i])
        steps = np.arange(4 if self.sevenths else 3) * 2
        return self.semitones(deg + steps) - self.semitones(deg)

    def root_pc(self, i: np.ndarray | int) -> np.ndarray:
        return (self.tonic + self.semitones(self.chord_degrees[i])) % 12


def _make_arrangement(rng: np.random.Generator, seconds: float) -> _Arrangement:
    tempo = rng.uniform(80.0, 140.0)
    beat = 60.0 / tempo
    mode = "major" if rng.random() < 0.6 else "minor"
    progs = _PROGRESSIONS[mode]
    prog = np.array(progs[rng.integers(len(progs))])
    chord_beats = 2 if rng.random() < 0.3 else 4
    starts = np.arange(0.0, seconds, chord_beats * beat)
    return _Arrangement(
        beat=beat,
        tonic=int(rng.integers(12)),
        scale=_MAJOR if mode == "major" else _MINOR,
        chord_starts=starts,
        chord_degrees=prog[np.arange(len(starts)) % len(prog)],
        sevenths=bool(rng.random() < 0.4),
    )


def _hz(midi: np.ndarray | float) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


def _pan(mono: np.ndarray, pan: float) -> np.ndarray:
    """Constant-power pan, ``pan`` in [-1 (left), 1 (right)] -> (n, 2)."""
    theta = (pan + 1.0) * math.pi / 4.0
    return np.stack([mono * math.cos(theta), mono * math.sin(theta)], axis=1)


def _fade(n: int, length: int) -> np.ndarray:
    """Raised-cosine fade-out over the last ``length`` samples of ``n``."""
    g = np.ones(n)
    length = min(length, n)
    if length > 0:
        g[n - length :] = 0.5 + 0.5 * np.cos(np.linspace(0.0, math.pi, length))
    return g


def _harmonics(phase: np.ndarray, amps: Iterable[np.ndarray | float]) -> np.ndarray:
    """sum_k amps[k-1] * sin(k * phase) via the Chebyshev recurrence.

    ``amps`` yields per harmonic a scalar or an (n,) array.  The recurrence
    sin((k+1)x) = 2 cos(x) sin(kx) - sin((k-1)x) needs one sin and one cos per
    sample instead of K, which keeps the vocals (~50 harmonics) fast.
    """
    s_prev = np.zeros_like(phase)
    s = np.sin(phase)
    c2 = 2.0 * np.cos(phase)
    out = np.zeros_like(phase)
    tmp = np.empty_like(phase)
    for a in amps:
        np.multiply(s, a, out=tmp)
        out += tmp
        np.multiply(c2, s, out=tmp)
        tmp -= s_prev
        s_prev, s, tmp = s, tmp, s_prev
    return out


def _filtered_noise(rng: np.random.Generator, n: int, rate: int, lo: float, hi: float) -> np.ndarray:
    """Unit-variance noise band-limited to about [lo, hi] Hz (2nd-order slopes, FFT domain)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / rate)
    f[0] = 1e-3
    mask = 1.0 / np.sqrt(1.0 + (lo / f) ** 4) / np.sqrt(1.0 + (f / hi) ** 4)
    y = np.fft.irfft(spec * mask, n)
    return y / (np.std(y) + 1e-12)


def _place(buf: np.ndarray, shot: np.ndarray, start: int) -> None:
    end = min(buf.shape[0], start + shot.shape[0])
    if end > start:
        buf[start:end] += shot[: end - start]


# --------------------------------------------------------------------------
# the four sources; each returns float64 (n, 2) at arbitrary scale
# --------------------------------------------------------------------------


def _render_drums(rng: np.random.Generator, arr: _Arrangement, n: int, rate: int) -> np.ndarray:
    """Kick (pitch-dropping sine), snare (tone + band noise), hats (high noise) on a 16th grid."""
    nyq_lim = 0.45 * rate
    step = arr.beat / 4.0
    n_steps = int(math.ceil(n / rate / step)) + 1
    times = np.arange(n_steps) * step
    pos = np.arange(n_steps) % 16

    extra_kicks = rng.choice([3, 6, 7, 10, 11, 14], size=rng.integers(0, 3), replace=False)
    kick_on = np.isin(pos, [0, 8]) | np.isin(pos, extra_kicks)
    snare_on = np.isin(pos, [4, 12])
    ghost_on = np.isin(pos, [7, 15]) & (rng.random(n_steps) < rng.uniform(0.0, 0.4))
    hat16 = rng.random() < 0.4
    hat_on = (pos % 2 == 0) | (hat16 & (rng.random(n_steps) < 0.6))
    hat_vel = np.where(pos % 4 == 0, 1.0, np.where(pos % 2 == 0, 0.7, 0.45))
    hat_vel = hat_vel * rng.uniform(0.85, 1.0, n_steps)
    jitter = rng.normal(0.0, 0.003, n_steps)
    onset = np.maximum(0, np.rint((times + jitter) * rate)).astype(np.int64)
    onset[0] = 0  # every track starts with a kick on the downbeat

    # kick
    ta = rng.uniform(0.12, 0.25)
    tk = np.arange(int(min(6 * ta, 1.0) * rate)) / rate
    f_start, f_end, tf = rng.uniform(110, 170), rng.uniform(42, 60), rng.uniform(0.025, 0.05)
    freq = f_end + (f_start - f_end) * np.exp(-tk / tf)
    kick = np.sin(2 * math.pi * np.cumsum(freq) / rate) * np.exp(-tk / ta)
    click = _filtered_noise(rng, tk.size, rate, 1500.0, min(8000.0, nyq_lim)) * np.exp(-tk / 0.003)
    kick = (kick + 0.25 * click) * _fade(tk.size, int(0.01 * rate))

    # snare: shots take different slices of a long noise buffer
    tn = rng.uniform(0.05, 0.12)
    ts = np.arange(int(6 * tn * rate)) / rate
    snare_tone = np.sin(2 * math.pi * rng.uniform(170, 230) * ts) * np.exp(-ts / 0.06)
    snare_env = np.exp(-ts / tn) * _fade(ts.size, int(0.01 * rate))
    snare_noise = _filtered_noise(rng, 1 << 16, rate, rng.uniform(700, 1200), min(8000.0, nyq_lim))

    # closed hat
    th = rng.uniform(0.02, 0.05)
    tt = np.arange(int(6 * th * rate)) / rate
    hat_env = np.exp(-tt / th) * _fade(tt.size, int(0.005 * rate))
    hat_noise = _filtered_noise(rng, 1 << 16, rate, min(rng.uniform(5000, 7500), 0.3 * rate), nyq_lim)

    kick_buf, snare_buf, hat_buf = np.zeros(n), np.zeros(n), np.zeros(n)
    for i in np.flatnonzero(kick_on):
        _place(kick_buf, kick * rng.uniform(0.85, 1.0), onset[i])
    for i in np.flatnonzero(snare_on | ghost_on):
        o = rng.integers(0, snare_noise.size - ts.size)
        shot = (0.6 * snare_tone + snare_noise[o : o + ts.size]) * snare_env
        _place(snare_buf, shot * (rng.uniform(0.85, 1.0) if snare_on[i] else 0.25), onset[i])
    for i in np.flatnonzero(hat_on):
        o = rng.integers(0, hat_noise.size - tt.size)
        _place(hat_buf, hat_noise[o : o + tt.size] * hat_env * hat_vel[i], onset[i])

    hat_pan = rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 0.5)
    return (
        _pan(kick_buf, 0.0)
        + _pan(snare_buf, rng.uniform(-0.1, 0.1)) * rng.uniform(0.6, 0.8)
        + _pan(hat_buf, hat_pan) * rng.uniform(0.2, 0.35)
    )


def _render_bass(rng: np.random.Generator, arr: _Arrangement, n: int, rate: int) -> np.ndarray:
    """Plucked bass on an 8th grid playing chord roots (and fifths), f0 in ~41-117 Hz."""
    eighth = arr.beat / 2.0
    n_steps = int(math.ceil(n / rate / eighth)) + 1
    times = np.arange(n_steps) * eighth
    pos = np.arange(n_steps) % 8
    on = (pos % 2 == 0) | (rng.random(n_steps) < rng.uniform(0.15, 0.6))
    starts = times[on]
    chord = arr.chord_index(starts + 1e-9)
    midi = 28 + (arr.root_pc(chord) - 28) % 12  # MIDI 28..39, 41-78 Hz
    fifth = (rng.random(starts.size) < 0.25) & (pos[on] != 0)
    midi = midi + 7 * fifth
    nxt = np.append(starts[1:], starts[-1] + eighth)
    legato = rng.uniform(0.6, 1.0)
    ends = starts + np.maximum(0.1, legato * (nxt - starts))

    tau = rng.uniform(0.25, 0.6)
    n_harm = int(rng.integers(4, 7))
    k = np.arange(1, n_harm + 1)[:, None]
    amp_k = k ** -rng.uniform(0.9, 1.6)
    tau_k = tau / (1.0 + 0.6 * (k - 1))
    rel = int(0.03 * rate)
    out = np.zeros(n)
    for s, e, m in zip(starts, ends, midi, strict=True):
        i0 = int(round(s * rate))
        if i0 >= n:
            break
        length = min(int(round((e - s) * rate)) + rel, n - i0)
        t = np.arange(length) / rate
        f0 = float(_hz(m)) * (1.0 + rng.normal(0.0, 0.001))
        env = np.minimum(t / 0.004, 1.0) * _fade(length, rel)
        phase = 2 * math.pi * f0 * k * t + rng.uniform(0, 2 * math.pi, (n_harm, 1))
        note = np.sum(amp_k * np.exp(-t / tau_k) * np.sin(phase), axis=0)
        out[i0 : i0 + length] += note * env * rng.uniform(0.8, 1.0)
    return _pan(out, rng.uniform(-0.08, 0.08))


def _render_other(rng: np.random.Generator, arr: _Arrangement, n: int, rate: int) -> np.ndarray:
    """Chords (3-4 notes, roots MIDI 56-67 i.e. ~200-1000 Hz) as a slow pad or re-struck keys."""
    seconds = n / rate
    keys = rng.random() < 0.4
    if keys:  # re-strike the current chord every 1 or 2 beats, decaying
        strike = arr.beat * (1 if rng.random() < 0.5 else 2)
        seg_starts = np.arange(0.0, seconds, strike)
        attack, decay, release = 0.005, rng.uniform(0.6, 1.2), 0.15
    else:  # one sustained pad per chord
        seg_starts = arr.chord_starts
        attack, decay, release = rng.uniform(0.06, 0.25), math.inf, rng.uniform(0.2, 0.4)
    seg_ends = np.append(seg_starts[1:], seconds)
    n_harm = int(rng.integers(4, 9))
    k = np.arange(1, n_harm + 1)
    amp_k = k ** -rng.uniform(1.0, 2.0)
    detune = rng.uniform(0.002, 0.004)  # two slightly detuned oscillators per note
    spread = rng.uniform(0.1, 0.5)
    center = rng.uniform(-0.4, 0.4)
    f_lim = min(8000.0, 0.45 * rate)
    rel = int(release * rate)
    out = np.zeros((n, 2))
    for s, e in zip(seg_starts, seg_ends, strict=True):
        i0 = int(round(s * rate))
        if i0 >= n:
            break
        ci = int(arr.chord_index(s + 1e-9))
        gate = int(round((e - s) * rate))
        length = min(gate + rel, n - i0)
        t = np.arange(length) / rate
        env = np.minimum(t / attack, 1.0) * (np.exp(-t / decay) if math.isfinite(decay) else 1.0)
        if length > gate:  # raised-cosine release after the gate
            r = np.clip((t[gate:] - t[gate]) / release, 0.0, 1.0)
            env[gate:] *= 0.5 + 0.5 * np.cos(math.pi * r)
        env *= rng.uniform(0.85, 1.0)
        root = 56 + (int(arr.root_pc(ci)) - 56) % 12
        tones = root + arr.chord_tones(ci)
        for j, tone in enumerate(tones):
            f = float(_hz(tone))
            amps = np.where(k * f < f_lim, amp_k, 0.0)
            voice = np.zeros(length)
            for d in (1.0 - detune, 1.0 + detune):
                voice += _harmonics(2 * math.pi * f * d * t + rng.uniform(0, 2 * math.pi), amps)
            pan = center + spread * (2 * j / max(1, len(tones) - 1) - 1)
            out[i0 : i0 + length] += _pan(voice * env, float(np.clip(pan, -1.0, 1.0)))
    return out


def _render_vocals(rng: np.random.Generator, arr: _Arrangement, n: int, rate: int) -> np.ndarray:
    """Sung melody: held notes (f0 ~155-470 Hz) with vibrato and per-note vowel formants."""
    seconds = n / rate
    # melody as (start, end, midi, vowel); gaps <= 0.3 s so no 1 s window is silent
    center = int(rng.integers(57, 65))
    lo, hi = max(51, center - 7), min(70, center + 7)
    starts, ends, pitches, vowels = [], [], [], []
    t = 0.0
    degree = round(7 * (center - arr.tonic) / 12) + int(rng.integers(-1, 2))
    vowel = int(rng.integers(len(_VOWELS)))
    while t < seconds:
        length = arr.beat * rng.choice([1.0, 1.5, 2.0, 3.0], p=[0.3, 0.25, 0.3, 0.15])
        length = max(length, 0.3)
        gap = min(arr.beat * rng.choice([0.0, 0.25, 0.5], p=[0.3, 0.4, 0.3]), 0.3)
        degree += int(rng.choice([-2, -1, 0, 1, 2, 3], p=[0.15, 0.25, 0.1, 0.25, 0.15, 0.1]))
        midi = arr.tonic + int(arr.semitones(degree))
        if rng.random() < 0.5:  # snap to the nearest chord tone of the current chord
            ci = int(arr.chord_index(t + 1e-9))
            pcs = (arr.root_pc(ci) + arr.chord_tones(ci)) % 12
            cands = midi + np.arange(-6, 7)
            cands = cands[np.isin(cands % 12, pcs)]
            midi = int(cands[np.argmin(np.abs(cands - midi))])
        while midi < lo:  # fold into the singer's range
            midi += 12
            degree += 7
        while midi > hi:
            midi -= 12
            degree -= 7
        vowel = (vowel + int(rng.integers(1, len(_VOWELS)))) % len(_VOWELS)
        starts.append(t)
        ends.append(t + length)
        pitches.append(midi)
        vowels.append(vowel)
        t += length + gap
    starts_a, ends_a = np.array(starts), np.array(ends)
    f_note = _hz(np.array(pitches)) * (1.0 + rng.normal(0.0, 0.002, len(pitches)))
    velocity = rng.uniform(0.7, 1.0, len(pitches))
    shift = rng.uniform(0.9, 1.15)  # "singer" vocal-tract size
    formants = _VOWELS[np.array(vowels)] * shift * rng.uniform(0.95, 1.05, (len(vowels), 3))

    ts = np.arange(n) / rate
    idx = np.clip(np.searchsorted(starts_a, ts, side="right") - 1, 0, None)
    since = ts - starts_a[idx]
    until = ends_a[idx] - ts
    attack, release = rng.uniform(0.03, 0.07), rng.uniform(0.06, 0.12)
    a = np.clip(since / attack, 0.0, 1.0)
    r = np.clip(until / release, 0.0, 1.0)
    env = (0.5 - 0.5 * np.cos(math.pi * a)) * (0.5 - 0.5 * np.cos(math.pi * r)) * velocity[idx]

    vib_rate, vib_depth = rng.uniform(5.0, 6.0), rng.uniform(0.015, 0.035)
    vib_onset = np.clip(since / 0.3, 0.0, 1.0)
    f0 = f_note[idx] * (1.0 + vib_depth * vib_onset * np.sin(2 * math.pi * vib_rate * ts + rng.uniform(0, 6.3)))
    cycles = np.cumsum(f0 / rate)
    phase = 2 * math.pi * (cycles - np.floor(cycles))

    # harmonic amplitudes from the formant envelope, at a control rate of
    # `hop` samples (formants and vibrato are slow) and linearly interpolated
    hop = 64
    n_ctrl = n // hop + 2
    ctrl = np.minimum(np.arange(n_ctrl) * hop, n - 1)
    f0_c = f0[ctrl]
    form_c = formants[idx[ctrl]]  # (m, 3)
    f_lim = min(8000.0, 0.45 * rate)
    n_harm = int(f_lim // float(f_note.min() * (1 - vib_depth))) + 1
    tilt = rng.uniform(0.3, 0.8)
    seg = np.arange(n) // hop  # linear interpolation between control points
    frac = (np.arange(n) % hop) / hop

    def amps():  # lazily, one harmonic at a time, to keep memory at O(n)
        for kk in range(1, n_harm + 1):
            fk = kk * f0_c[:, None]  # (m, 1)
            res = np.sum(_FORMANT_GAIN / (1.0 + ((fk - form_c) / _FORMANT_BW) ** 2), axis=1)
            a_k = (0.03 + res) * kk**-tilt * np.clip((f_lim - fk[:, 0]) / 1000.0, 0.0, 1.0)
            yield a_k[seg] + frac * np.diff(a_k)[seg]

    voice = _harmonics(phase, amps()) * env
    return _pan(voice, rng.uniform(-0.12, 0.12))
