"""museval's BSSEval v4 SDR, exactly, in a few milliseconds per track (no museval import).

In museval v4's images mode (``museval.evaluate(..., mode="v4")``, time-invariant filters,
``bsseval_sources_version=False``) an estimate is decomposed as
ŝ = s_true + e_spat + e_interf + e_artif with ``s_true`` the zero-padded reference itself and
``e_artif`` defined as what is left (``metrics._bss_decomp_mtifilt``), so the SDR of
``metrics._bss_crit``, 10·log10(Σ s_true² / Σ (e_spat + e_interf + e_artif)²), is exactly the
framewise SNR 10·log10(Σ s² / Σ (ŝ − s)²) over the frame's samples and channels (see
sigsep-mus-eval issue #101). The 512-tap distortion filters only change ISR, SIR and SAR.
tests/test_sdr.py checks the equality against ``museval.evaluate`` (≤ 1e-9 dB per frame,
identical NaN masks).

museval's rules kept here:

* estimates are zero-padded or truncated to the references' length (``museval.pad_or_truncate``);
* ``nwin = floor((N − win + hop) / hop)`` frames ``[t·hop, min(t·hop + win, N))`` when
  ``win < N``, else one frame over the whole track (``metrics.Framing``);
* a frame where any reference or estimate of the pass is silent (sum over channels zero at
  every sample, ``metrics._any_source_silent``) is NaN for every target of the pass;
* a track where a whole reference or estimate is silent is refused (``metrics.validate``);
* a frame whose error is exactly zero: museval's projections leave a rounding residue there
  and give a large finite SDR (about 390 dB, never NaN); the exact SNR would be +inf, which
  museval's JSON writer would turn into NaN (dropped from the medians). We give
  :data:`ZERO_ERROR_SDR` (20·log10(1/eps) ≈ 313 dB, float64's resolution), finite like
  museval's, so medians over frames count the frame as museval's do;
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
ZERO_ERROR_SDR = float(-20.0 * np.log10(np.finfo(np.float64).eps))  # ≈ 313.07 dB
USDR_DELTA = 1e-7  # MDX 2021 / Music-Source-Separation-Training metrics.sdr


def pad_or_truncate(references: np.ndarray, estimates: np.ndarray) -> np.ndarray:
    """Estimates (nsrc, nsampl_est, nchan) zero-padded at the end or cut to the references'
    nsampl, as ``museval.pad_or_truncate``."""
    n_ref, n_est = references.shape[1], estimates.shape[1]
    if n_est > n_ref:
        return estimates[:, :n_ref]
    if n_est < n_ref:
        return np.pad(estimates, [(0, 0), (0, n_ref - n_est), (0, 0)])
    return estimates


def _silent(audio: np.ndarray, sl: slice, block: int = 1 << 16) -> bool:
    """museval's silence test (``metrics._any_source_silent``) on ``audio[sl]`` (nsampl, nchan):
    the sum over channels is zero at every sample; blocks of ``block`` samples, stopping at
    the first sound (a first block of 256 samples: sound usually ends the test there)."""
    start, size = sl.start, 256
    while start < sl.stop:
        part = audio[start : min(start + size, sl.stop)]
        sums = part[:, 0].copy()
        for c in range(1, part.shape[1]):
            sums += part[:, c]
        if np.any(sums):
            return False
        start, size = start + size, block
    return True


def _frames(nsampl: int, win: int, hop: int) -> list[slice]:
    """museval's ``metrics.Framing(win, hop, nsampl)`` as a list of slices."""
    nwin = int(np.floor((nsampl - win + hop) / hop)) if win < nsampl else 1
    return [slice(t * hop, min(t * hop + win, nsampl)) for t in range(nwin)]


def _as_sources(audio: Sequence[np.ndarray] | np.ndarray, kind: str) -> list[np.ndarray]:
    """Each source as a float64 (nsampl, nchan) array (mono (nsampl,) gets one channel, as
    museval's ``atleast_3d``), checked non-empty and finite; no stacked copy is made."""
    sources = [np.asarray(a, dtype=np.float64) for a in audio]
    if not sources:
        raise ValueError(f"{kind}: no sources given")
    out = []
    for k, arr in enumerate(sources):
        arr = arr[:, None] if arr.ndim == 1 else arr
        if arr.ndim != 2 or 0 in arr.shape:
            raise ValueError(f"{kind}: source {k} must be a non-empty (nsampl, nchan) array, got shape {arr.shape}")
        if not np.isfinite(np.einsum("i,i->", arr.reshape(-1), arr.reshape(-1))):
            # the sum of squares is finite exactly when every sample is (|x| < 1e154)
            raise ValueError(f"{kind}: source {k} contains NaN or inf (or values beyond 1e154)")
        out.append(arr)
    return out


def framewise_sdr(
    references: Sequence[np.ndarray] | np.ndarray,
    estimates: Sequence[np.ndarray] | np.ndarray,
    win: int,
    hop: int,
) -> np.ndarray:
    """SDR of ``museval.evaluate(references, estimates, win, hop, mode="v4")``: (nsrc, nwin) dB.

    ``references``: nsrc arrays (nsampl, nchan) of one shape; ``estimates``: nsrc arrays
    (any nsampl, nchan), same source order (a stacked (nsrc, nsampl, nchan) array works too).
    ``win``/``hop`` in samples. NaN in frames where any source of this call is silent.
    Raises ValueError for mismatched sources/shapes, non-finite audio, ``win``/``hop`` < 1, or
    a whole reference or estimate that is silent (museval's refusal). Memory: the inputs plus
    a few (nsampl,) arrays of one source at a time.
    """
    refs = _as_sources(references, "references")
    ests = _as_sources(estimates, "estimates")
    if len(refs) != len(ests):
        raise ValueError(f"{len(refs)} references but {len(ests)} estimates")
    shape = refs[0].shape
    for k, (ref, est) in enumerate(zip(refs, ests)):
        if ref.shape != shape or est.shape[1] != shape[1]:
            raise ValueError(
                f"source {k}: reference {ref.shape} and estimate {est.shape} against reference 0 "
                f"{shape}: references must share one shape, estimates their channel count"
            )
    if int(win) != win or int(hop) != hop or win < 1 or hop < 1:
        raise ValueError(f"win={win} and hop={hop} must be whole numbers of samples >= 1")
    frames = _frames(shape[0], int(win), int(hop))
    nsrc = len(refs)
    signal = np.empty((nsrc, len(frames)))
    error = np.empty((nsrc, len(frames)))
    masked = np.zeros(len(frames), dtype=bool)
    for k, (ref, est) in enumerate(zip(refs, ests)):
        est = pad_or_truncate(ref[None], est[None])[0]
        for kind, audio in (("reference", ref), ("estimate", est)):
            if _silent(audio, slice(0, len(audio))):
                raise ValueError(
                    f"{kind} of source {k} is silent (all zeros, or channels cancelling at "
                    "every sample): BSSEval (museval) refuses silent sources"
                )
        for t, sl in enumerate(frames):
            # frame by frame, in cache: a frame's rows are contiguous, its samples and channels
            # one vector; Σ over samples and channels as einsum's dot (numpy's own loop, no
            # BLAS threads)
            r, e = ref[sl].reshape(-1), est[sl].reshape(-1)
            masked[t] |= _silent(ref, sl) or _silent(est, sl)
            d = e - r
            signal[k, t], error[k, t] = np.einsum("i,i->", r, r), np.einsum("i,i->", d, d)
    with np.errstate(divide="ignore"):
        out = np.where(error > 0, 10.0 * np.log10(signal / np.where(error > 0, error, 1.0)), ZERO_ERROR_SDR)
    out[:, masked] = np.nan
    return out


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
