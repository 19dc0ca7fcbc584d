"""museval v4's framewise SDR, exactly, as a plain SNR (numpy only): the shared core of the
evaluation's SDR path (:mod:`umxmr.evaluation.sdr`) and of the validation SDR that training
records (:mod:`umxmr.training.valid_sdr`, ``train.valid_sdr``).

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
* a frame where any reference or estimate of the call is silent (sum over channels zero at
  every sample, ``metrics._any_source_silent``) is NaN for every source of the call;
* a track where a whole reference or estimate is silent is refused (``metrics.validate``);
* a frame whose error is exactly zero: museval's projections leave a rounding residue there
  and give a large finite SDR (about 390 dB, never NaN); the exact SNR would be +inf, which
  museval's JSON writer would turn into NaN (dropped from the medians). We give
  :data:`ZERO_ERROR_SDR` (20·log10(1/eps) ≈ 313 dB, float64's resolution), finite like
  museval's, so medians over frames count the frame as museval's do.

Shared ground: the evaluation and the training both use it, and neither may import the other.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["ZERO_ERROR_SDR", "pad_or_truncate", "is_silent", "framewise_sdr"]

ZERO_ERROR_SDR = float(-20.0 * np.log10(np.finfo(np.float64).eps))  # ≈ 313.07 dB


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


def is_silent(audio: np.ndarray) -> bool:
    """Whether museval would refuse `audio` (nsampl, nchan) as a source: silent throughout."""
    return _silent(audio, slice(0, len(audio)))


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
