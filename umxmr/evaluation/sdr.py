"""museval's BSSEval v4 SDR, exactly, in a few milliseconds per track (no museval import).

The framewise SDR itself (museval's framing, padding, silence masks and refusals, the exact SNR
that museval v4's SDR is) lives in :mod:`umxmr.framewise_sdr`, shared with the training's
validation SDR; this module adds museval's passes over a track's targets, the uSDR and the JSON.
One more of museval's rules is kept here:

* ``vocals`` and ``accompaniment`` both present: accompaniment is left out of the joint
  pass and the pair vocals/accompaniment is evaluated on its own, its vocals replacing the
  joint pass's (``museval.eval_mus_track``); the pass matters for the silence mask.

The global SDR (uSDR, "utterance SDR": one SNR over the whole track, averaged over tracks) is
the ``sdr`` of the Music Demixing Challenge 2021 and of Music-Source-Separation-Training
(``metrics.sdr``: 10·log10((Σ s² + δ) / (Σ (s − ŝ)² + δ)), δ = 1e-7): :func:`global_sdr`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from umxmr.atomic import write_text
from umxmr.framewise_sdr import ZERO_ERROR_SDR, framewise_sdr, pad_or_truncate

__all__ = [
    "SDR_ONLY",
    "ALL_METRICS",
    "ZERO_ERROR_SDR",
    "USDR_DELTA",
    "framewise_sdr",
    "global_sdr",
    "track_sdr_scores",
    "sdr_track_json",
    "load_track_audio",
    "evaluate_track_dirs_sdr",
]

ALL_METRICS = ("SDR", "SIR", "SAR", "ISR")  # museval's JSON keys, in its order
SDR_ONLY = ("SDR",)
USDR_DELTA = 1e-7  # MDX 2021 / Music-Source-Separation-Training metrics.sdr


def global_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """uSDR of one target over the whole track, dB: 10·log10((Σ s² + δ) / (Σ (s − ŝ)² + δ)),
    δ = :data:`USDR_DELTA`, sums over samples and channels; ``estimate`` padded or cut to
    the reference's length first (as museval does). Follows Music-Source-Separation-Training's
    ``metrics.sdr`` (the MDX 2021 challenge's "SDR")."""
    ref = np.asarray(reference, dtype=np.float64)
    est = pad_or_truncate(ref[None], np.asarray(estimate, dtype=np.float64)[None])[0]
    num = den = 0.0
    for start in range(0, len(ref), 1 << 16):  # in cache-sized blocks, no whole-track temporaries
        r = ref[start : start + (1 << 16)].reshape(-1)
        d = est[start : start + (1 << 16)].reshape(-1) - r
        num += float(np.einsum("i,i->", r, r))
        den += float(np.einsum("i,i->", d, d))
    return 10.0 * math.log10((num + USDR_DELTA) / (den + USDR_DELTA))


def track_sdr_scores(
    references: Mapping[str, np.ndarray],
    estimates: Mapping[str, np.ndarray],
    win: int,
    hop: int,
    track_name: str = "track",
) -> dict[str, np.ndarray]:
    """target -> (nwin,) framewise SDR, with ``museval.eval_mus_track``'s passes.

    Targets are those of ``references`` (in its order; each needs an estimate, arrays are
    (nsampl, nchan)); with both ``vocals`` and ``accompaniment`` the pair is its own pass and
    gives the vocals scores. Raises ValueError naming the track when fewer than two targets
    remain for the joint pass and there is no vocals/accompaniment pair (museval evaluates
    nothing then) or when a pass cannot be evaluated.
    """
    targets = list(references)
    missing = [t for t in targets if t not in estimates]
    if missing:
        raise ValueError(f"track {track_name!r}: no estimate for targets {missing}")
    has_acc = "vocals" in targets and "accompaniment" in targets
    joint = [t for t in targets if not (has_acc and t == "accompaniment")]
    if len(joint) < 2 and not has_acc:
        raise ValueError(f"track {track_name!r}: BSSEval needs at least two targets, got {targets}")

    def run(names: list[str]) -> dict[str, np.ndarray]:
        try:
            sdr = framewise_sdr([references[t] for t in names], [estimates[t] for t in names], win, hop)
        except ValueError as exc:
            raise ValueError(f"track {track_name!r}, targets {names}: {exc}") from exc
        return dict(zip(names, sdr))

    scores: dict[str, np.ndarray] = {}
    if len(joint) >= 2:
        scores.update({t: s for t, s in run(joint).items() if not (has_acc and t == "vocals")})
    if has_acc:
        scores.update(run(["vocals", "accompaniment"]))
    return {t: scores[t] for t in targets}


def _quantize(value: float) -> float:
    """museval's ``TrackStore._q``: 5 decimals; inf (and NaN) become NaN."""
    if not math.isfinite(value):
        return float("nan")
    return float(Decimal(value).quantize(Decimal(".00001")))


def sdr_track_json(
    scores: Mapping[str, np.ndarray],
    usdr: Mapping[str, float],
    win: float,
    hop: float,
    provenance: Mapping[str, Any] | None = None,
) -> str:
    """museval's track JSON (``TrackStore.json`` layout: targets → frames with time, duration
    and the four metrics) holding only SDR; SIR/SAR/ISR are NaN (museval's readers need the
    keys). Extra top-level keys: ``metrics`` (["SDR"]), ``uSDR`` (target → global SDR, dB) and
    ``provenance`` when given. ``win``/``hop`` in seconds (frame time = index × hop)."""
    targets = []
    for name, values in scores.items():
        frames = [
            {
                "time": i * hop,
                "duration": win,
                "metrics": {m: (_quantize(float(v)) if m == "SDR" else float("nan")) for m in ALL_METRICS},
            }
            for i, v in enumerate(values)
        ]
        targets.append({"name": name, "frames": frames})
    data: dict[str, Any] = {
        "targets": targets,
        "metrics": list(SDR_ONLY),
        "uSDR": {name: float(v) for name, v in usdr.items()},
        "sdr_method": "umxmr.evaluation.sdr: framewise SNR, equal to museval v4's SDR",
    }
    if provenance is not None:
        data["provenance"] = dict(provenance)
    return json.dumps(data, indent=2, allow_nan=True)


def load_track_audio(
    reference_dir: Path,
    estimate_dir: Path,
    targets: Sequence[str],
    reference_files: Mapping[str, str] | None = None,
    track_name: str = "track",
    reference_sums: Mapping[str, Sequence[str]] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], int]:
    """References ``<reference_dir>/<file>`` (``reference_files[target]``, default
    ``<target>.wav``) and estimates ``<estimate_dir>/<target>.wav`` as float64 (nsampl, nchan)
    arrays, and the sample rate. All files must share one rate and channel count, the
    references one length; estimates may differ in length (padded or cut later, as museval).
    A target named in `reference_sums` (a single-target study's complement,
    :mod:`umxmr.target_sets`) has as reference the sum of those stems' files."""
    from umxmr.data.audio import open_audio

    if isinstance(targets, str):
        raise TypeError("targets must be a sequence of target names, not a string")
    targets = list(targets)
    if not targets or len(set(targets)) != len(targets):
        raise ValueError(f"track {track_name!r}: targets must be distinct and non-empty, got {targets}")
    refs: dict[str, np.ndarray] = {}
    ests: dict[str, np.ndarray] = {}
    first: tuple[Path, int, int, int] | None = None  # path, rate, channels, reference samples
    def read(kind: str, path: Path) -> tuple[np.ndarray, int]:
        if not path.is_file():
            raise FileNotFoundError(f"track {track_name!r}: missing {kind} file {path}")
        with open_audio(path) as f:  # a WAV from a pipe (data size 0) as the manifest counted it
            # float WAVs (the workflow's estimates) are read as float32, a plain copy, and
            # widened by numpy: the same float64 values as libsndfile's float64 read
            native = "float32" if f.subtype == "FLOAT" else "float64"
            return f.read(dtype=native, always_2d=True).astype(np.float64, copy=False), int(f.samplerate)

    for target in targets:
        parts = (reference_sums or {}).get(target, [target])
        for kind, paths, store in (
            ("reference", [Path(reference_dir) / (reference_files or {}).get(s, f"{s}.wav") for s in parts], refs),
            ("estimate", [Path(estimate_dir) / f"{target}.wav"], ests),
        ):
            audio = None
            for path in paths:
                part, rate = read(kind, path)
                if audio is not None and part.shape != audio.shape:
                    raise ValueError(f"track {track_name!r}: {path} has shape {part.shape}, the other stems of {target} {audio.shape}")
                audio = part if audio is None else audio + part
            if first is None:
                first = (path, int(rate), audio.shape[1], audio.shape[0])
            elif rate != first[1] or audio.shape[1] != first[2]:
                raise ValueError(
                    f"track {track_name!r}: {path} is {rate} Hz with {audio.shape[1]} channels, "
                    f"{first[0]} is {first[1]} Hz with {first[2]} channels"
                )
            elif kind == "reference" and audio.shape[0] != first[3]:
                raise ValueError(
                    f"track {track_name!r}: reference {path} has {audio.shape[0]} samples, "
                    f"{first[0]} has {first[3]}"
                )
            store[target] = audio
    assert first is not None
    return refs, ests, first[1]


def evaluate_track_dirs_sdr(
    reference_dir: Path,
    estimate_dir: Path,
    targets: Sequence[str],
    out_json: Path,
    track_name: str,
    win: float = 1.0,
    hop: float = 1.0,
    reference_files: Mapping[str, str] | None = None,
    provenance: Mapping[str, Any] | None = None,
    reference_sums: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """The SDR-only twin of :func:`umxmr.evaluation.evaluate.evaluate_track_dirs`: framewise SDR
    (museval's, see the module docstring) and uSDR of every target, written atomically to
    ``out_json`` by :func:`sdr_track_json`. ``win``/``hop`` in seconds (``int(win * rate)``
    samples, as museval)."""
    refs, ests, rate = load_track_audio(reference_dir, estimate_dir, targets, reference_files, track_name, reference_sums)
    win_samples, hop_samples = int(win * rate), int(hop * rate)
    if win_samples < 1 or hop_samples < 1:
        raise ValueError(f"track {track_name!r}: win={win} s and hop={hop} s must be at least one sample")
    scores = track_sdr_scores(refs, ests, win_samples, hop_samples, track_name)
    usdr = {t: global_sdr(refs[t], ests[t]) for t in refs}
    write_text(Path(out_json), sdr_track_json(scores, usdr, win, hop, provenance))
