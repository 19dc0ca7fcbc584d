"""BSSEval v4 evaluation of separated stems with museval.

The numbers are museval's own: :func:`evaluate_track` evaluates the targets exactly
the way ``museval.eval_mus_track`` does (same window/hop in samples, same handling of
the vocals/accompaniment pair) with :func:`umxmr.evaluation.bsseval.bss_eval_v4` (museval's
``evaluate(mode="v4")`` arithmetic, bit for bit, in less time and optionally in
several processes) and stores the result in museval's ``TrackStore``, so the JSON written by :func:`evaluate_track_dirs` is the usual
museval/SiSEC format and can be read by ``museval.EvalStore``/``MethodStore``.

Two robustness fixes live here:

* ``import museval`` raises a bare ``RuntimeError`` when ffmpeg/ffprobe are not on
  ``PATH`` (its dependency ``stempeg`` checks at import time). museval is imported
  lazily by :func:`umxmr.evaluation.museval_import.import_museval`, which turns that into an actionable message.
* see :func:`umxmr.evaluation.museval_import.install_numpy_linalg_shim` for the numpy >= 2 fix of museval's
  least-squares fallback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from umxmr.atomic import write_text
from umxmr.evaluation.bsseval import bss_eval_v4
from umxmr.evaluation.museval_import import import_museval
from umxmr.evaluation.sdr import load_track_audio
from umxmr.framewise_sdr import is_silent

if TYPE_CHECKING:  # pragma: no cover
    import museval

__all__ = ["evaluate_track", "evaluate_track_dirs"]

METRICS = ("SDR", "SIR", "SAR", "ISR")

def _check_audio(
    references: Mapping[str, np.ndarray],
    estimates: Mapping[str, np.ndarray],
    track_name: str,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    refs: dict[str, np.ndarray] = {}
    ests: dict[str, np.ndarray] = {}
    shape = None
    for target, ref in references.items():
        if target not in estimates:
            raise ValueError(f"track {track_name!r}: no estimate for target {target!r}")
        ref = np.asarray(ref, dtype=np.float64)
        est = np.asarray(estimates[target], dtype=np.float64)
        for kind, audio in (("reference", ref), ("estimate", est)):
            if audio.ndim != 2 or audio.shape[0] == 0 or audio.shape[1] == 0:
                raise ValueError(
                    f"track {track_name!r}: {kind} of target {target!r} must be a non-empty "
                    f"(nb_samples, nb_channels) array, got shape {audio.shape}"
                )
            if not np.all(np.isfinite(audio)):
                raise ValueError(
                    f"track {track_name!r}: {kind} of target {target!r} contains NaN or inf"
                )
        if est.shape != ref.shape:
            raise ValueError(
                f"track {track_name!r}: estimate of target {target!r} has shape {est.shape}, "
                f"reference has shape {ref.shape}"
            )
        if shape is not None and ref.shape != shape:
            raise ValueError(
                f"track {track_name!r}: reference of target {target!r} has shape {ref.shape}, "
                f"other targets have shape {shape}"
            )
        shape = ref.shape
        for kind, audio in (("reference", ref), ("estimate", est)):
            if is_silent(audio):
                raise ValueError(
                    f"track {track_name!r}: {kind} of target {target!r} is silent (all zeros, "
                    "or channels cancelling at every sample); BSSEval (museval) cannot "
                    "evaluate silent sources"
                )
        refs[target] = ref
        ests[target] = est
    return refs, ests


def evaluate_track(
    references: Mapping[str, np.ndarray],
    estimates: Mapping[str, np.ndarray],
    track_name: str,
    rate: int,
    win: float = 1.0,
    hop: float = 1.0,
    workers: int = 1,
) -> museval.TrackStore:
    """BSSEval v4 scores of one track, in museval's ``TrackStore``.

    ``references``/``estimates`` map target name -> (nb_samples, nb_channels) float
    array; all arrays must have the same shape. Targets are those of
    ``references`` (extra estimates are ignored), evaluated jointly in that order,
    like ``museval.eval_mus_track`` does: if both ``vocals`` and ``accompaniment``
    are present, ``accompaniment`` (the sum of the other stems) is left out of the
    joint evaluation and the pair vocals/accompaniment is evaluated on its own,
    and the stored vocals scores are those of that pair. At least two targets are
    needed (museval skips single-target tracks; we raise instead).

    ``win``/``hop`` are in seconds; museval gets ``int(win * rate)`` samples.
    Frames where any reference or estimate is silent get NaN (museval's rule).
    ``workers`` processes share the work (see :mod:`umxmr.evaluation.bsseval`).
    """
    museval = import_museval()
    if not isinstance(rate, (int, np.integer)) or rate <= 0:
        raise ValueError(f"track {track_name!r}: rate must be a positive int, got {rate!r}")
    win_samples, hop_samples = int(win * rate), int(hop * rate)
    if win_samples < 1 or hop_samples < 1:
        raise ValueError(
            f"track {track_name!r}: win={win} s and hop={hop} s must be at least one sample"
        )
    refs, ests = _check_audio(references, estimates, track_name)

    targets = list(refs)
    has_acc = "vocals" in targets and "accompaniment" in targets
    joint = [t for t in targets if not (has_acc and t == "accompaniment")]
    if len(joint) < 2 and not has_acc:
        raise ValueError(
            f"track {track_name!r}: BSSEval needs at least two targets, got {targets}"
        )

    def run(names: list[str]) -> dict[str, dict[str, list[float]]]:
        try:
            sdr, isr, sir, sar = bss_eval_v4(
                [refs[t] for t in names],
                [ests[t] for t in names],
                win=win_samples,
                hop=hop_samples,
                workers=workers,
            )
        except ValueError as exc:
            raise ValueError(f"track {track_name!r}, targets {names}: {exc}") from exc
        return {
            t: {"SDR": sdr[i].tolist(), "SIR": sir[i].tolist(),
                "ISR": isr[i].tolist(), "SAR": sar[i].tolist()}
            for i, t in enumerate(names)
        }

    store = museval.TrackStore(track_name=track_name, win=win, hop=hop)
    if len(joint) >= 2:
        for target, values in run(joint).items():
            if not (has_acc and target == "vocals"):
                store.add_target(target_name=target, values=values)
    if has_acc:
        for target, values in run(["vocals", "accompaniment"]).items():
            store.add_target(target_name=target, values=values)
    store.validate()
    return store


def evaluate_track_dirs(
    reference_dir: Path,
    estimate_dir: Path,
    targets: Sequence[str],
    out_json: Path,
    track_name: str,
    win: float = 1.0,
    hop: float = 1.0,
    reference_files: Mapping[str, str] | None = None,
    workers: int = 1,
    provenance: Mapping[str, Any] | None = None,
    reference_sums: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Evaluate ``<estimate_dir>/<target>.wav`` against ``<reference_dir>/<target>.wav``
    (or the file `reference_files` names for the target, as a trackfolder dataset's)
    for each target (in the given order) and write museval's JSON to ``out_json``,
    with `provenance` (what produced the estimates) under the key ``provenance``.

    A target named in `reference_sums` (a single-target study's complement, see
    :mod:`umxmr.target_sets`) has as reference the sum of those stems' files, as musdb's
    accompaniment. Files are read by :func:`umxmr.evaluation.sdr.load_track_audio` (float64, as
    musdb does), the reader the SDR path shares; all files must share one sample rate and
    shape. ``out_json`` is written atomically: it is only created (or replaced)
    once evaluation succeeded.
    """
    references, estimates, rate = load_track_audio(
        reference_dir, estimate_dir, targets, reference_files, track_name, reference_sums
    )
    # the SDR path pads or cuts estimates of another length as museval does; the full
    # evaluation refuses them, naming the files (the workflow's estimates never differ)
    first = list(references)[0]
    first_ref = Path(reference_dir) / (reference_files or {}).get(first, f"{first}.wav")
    for target, estimate in estimates.items():
        if estimate.shape != references[first].shape:
            raise ValueError(
                f"track {track_name!r}: {Path(estimate_dir) / f'{target}.wav'} has {estimate.shape[0]} samples x "
                f"{estimate.shape[1]} channels, but {first_ref} has {references[first].shape[0]} samples x "
                f"{references[first].shape[1]} channels"
            )
    scores = evaluate_track(references, estimates, track_name, rate, win=win, hop=hop, workers=workers)
    if provenance is not None:
        scores.scores["provenance"] = dict(provenance)  # museval's schema allows extra keys
    write_text(Path(out_json), scores.json)
