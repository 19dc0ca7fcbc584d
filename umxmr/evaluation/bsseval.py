"""BSSEval v4 (museval's ``evaluate(..., mode="v4")``) with the same numbers, in less time.

museval's ``metrics.bss_eval`` (time-invariant filters, no permutation) spends its time in
three places: the reference correlations ``G`` (one inverse FFT per pair of reference
channels), one projection-filter solve per estimate with the same ``G + eps*I`` (an LU of a
(nsrc*nchan*512)² matrix each time), and the per-frame decomposition. This module does the
same arithmetic with the same numpy/scipy calls on the same operands, but

* solves all estimates in ONE ``np.linalg.solve`` call (one LU, several right-hand sides;
  LAPACK's triangular solves give every column exactly what a one-estimate call gives as
  long as each estimate has at least two channels; mono estimates are solved one by one),
* reuses each estimate's own rows of the cross-correlations ``D`` for its single-source
  filter ``Cj`` instead of recomputing the FFTs (museval computes the same values twice),
* in the frames, takes each reference channel's FFT once per frame and each filter's once
  (museval's ``fftconvolve`` calls redo both for every use),
* spreads the independent FFT work (the references' spectra too, into shared memory) and the
  frames over ``workers`` forked processes.

Numbers are bit-identical to museval run with the same number of BLAS threads per process
(LAPACK's LU depends on the thread count in the last bits; the workflow uses one BLAS thread
per process). tests/test_bsseval.py checks equality with ``museval.evaluate``.
"""

from __future__ import annotations

import itertools
import mmap
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import scipy.fft
import scipy.fftpack
from scipy.linalg import toeplitz

from umxmr.evaluation.museval_import import import_museval

__all__ = ["bss_eval_v4"]

FILTERS_LEN = 512  # museval's default (bss_eval's filters_len)

# Arrays the forked workers read (inherited copy-on-write, never pickled).
_SHARED: dict[str, np.ndarray] = {}


def _init_worker() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _map(func: Callable, items: Sequence, workers: int) -> list:
    """``map`` in this process (workers <= 1) or in forked processes that see ``_SHARED``."""
    if workers <= 1 or len(items) <= 1:
        return [func(item) for item in items]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(min(workers, len(items)), mp_context=context, initializer=_init_worker) as pool:
        return list(pool.map(func, items))


def _correlation(pair: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Toeplitz column and row of G[j, i, c2, c1], as museval's _compute_reference_correlations."""
    i, c1, j, c2 = pair
    sf = _SHARED["sf"]
    # numpy's temporary elision computes the product in the conjugate's buffer, and the
    # inverse FFT works in that buffer too (the same numbers: one n_fft-long array, not two)
    ssf = np.real(scipy.fftpack.ifft(sf[j, c2] * np.conj(sf[i, c1]), overwrite_x=True))
    # copies: a view would keep the whole n_fft-long inverse FFT alive in the results list
    # (36 of them for 4 stereo sources: 9.7 GB on a 4-minute track)
    return np.hstack((ssf[0], ssf[-1:-FILTERS_LEN:-1])), ssf[:FILTERS_LEN].copy()


def _reference_spectrum(channel: tuple[int, int]) -> None:
    """Row ``channel`` (source, channel) of museval's reference spectra ``sf``, written in place
    (``_SHARED["sf"]`` is shared memory, so a forked worker's row is seen by every process)."""
    j, c = channel
    sf = _SHARED["sf"]
    sf[j, c] = scipy.fftpack.fft(_zeropad(_SHARED["references"][j, :, c], FILTERS_LEN - 1, axis=0), n=sf.shape[-1])


def _cross_correlation(jest: int) -> np.ndarray:
    """D of museval's _compute_projection_filters for estimate ``jest``: (nsrc, nchan, L, nchan)."""
    sf, estimates = _SHARED["sf"], _SHARED["estimates"]
    nsrc, nchan, n_fft = sf.shape
    D = np.zeros((nsrc, nchan, FILTERS_LEN, nchan))
    for c in range(nchan):
        # one channel's spectrum at a time (museval takes both at once; each row of a 2-D FFT
        # is the 1-D FFT of that row, so the numbers are the same, in half the memory); the
        # zero-padded channel is dropped at once
        sef = scipy.fftpack.fft(_zeropad(estimates[jest][:, c], FILTERS_LEN - 1, axis=0), n=n_fft)
        for j, cj in itertools.product(range(nsrc), range(nchan)):
            # museval's expression exactly: numpy computes the product in the conjugate's buffer
            # (temporary elision) and in the order that gives, then the FFT works in it in place
            ssef = np.real(scipy.fftpack.ifft(sf[j, cj] * np.conj(sef), overwrite_x=True))
            D[j, cj, :, c] = np.hstack((ssef[0], ssef[-1:-FILTERS_LEN:-1]))
            del ssef  # else its buffer stays alive while the next product is made
        del sef
    return D


def _frames(frames: tuple[int, int]) -> np.ndarray:
    """(4, nsrc, len(frames)) SDR, ISR, SIR, SAR of frames ``range(*frames)``, as museval's loop.

    museval's ``_bss_decomp_mtifilt`` projects the references with ``fftconvolve`` (the FFTs
    of filter and reference, product, inverse). Here each reference channel's FFT is taken
    once per frame and each filter's once per FFT length (museval: once per use), with
    the very calls ``fftconvolve`` makes, so the sums are the same numbers."""
    from museval import metrics

    refs, ests = _SHARED["references"], _SHARED["estimates"]
    C, Cj = _SHARED["C"], _SHARED["Cj"]
    window, hop = _SHARED["framing"]
    nsrc, _, nchan = refs.shape
    framer = metrics.Framing(window, hop, refs.shape[1])
    filters: dict[tuple, np.ndarray] = {}
    out = np.empty((4, nsrc, frames[1] - frames[0]))
    for t, win in enumerate(framer):
        if not frames[0] <= t < frames[1]:
            continue
        k = t - frames[0]
        if metrics._any_source_silent(refs[:, win]) or metrics._any_source_silent(ests[:, win]):
            out[:, :, k] = np.nan
            continue
        ref = refs[:, win]
        nsampl = ref.shape[1]
        padded = _zeropad(ref, FILTERS_LEN - 1, axis=1)
        full = padded.shape[1] + FILTERS_LEN - 1  # fftconvolve's 'full' length
        fshape = [scipy.fft.next_fast_len(full, True)]
        spectra = {(j, cj): scipy.fft.rfftn(padded[j, :, cj], fshape, axes=[0]) for j in range(nsrc) for cj in range(nchan)}

        def project(sources: list[int], filt: np.ndarray, key: tuple) -> np.ndarray:
            # museval's _project with the spectra above; filt is (len(sources), nchan, L, nchan)
            sproj = np.zeros((nchan, nsampl + FILTERS_LEN - 1))
            for (n, j), cj, c in itertools.product(enumerate(sources), range(nchan), range(nchan)):
                fkey = (*key, n, cj, c, fshape[0])
                if fkey not in filters:
                    filters[fkey] = scipy.fft.rfftn(filt[n, cj, :, c], fshape, axes=[0])
                conv = scipy.fft.irfftn(filters[fkey] * spectra[j, cj], fshape, axes=[0])[:full]
                sproj[c] += conv[: nsampl + FILTERS_LEN - 1]
            return sproj.T

        for j in range(nsrc):
            # museval's _bss_decomp_mtifilt
            s_true = _zeropad(ref[j], FILTERS_LEN - 1, axis=0)
            e_spat = project([j], Cj[j][None], ("Cj", j)) - s_true
            e_interf = project(list(range(nsrc)), C[j], ("C", j)) - s_true - e_spat
            e_artif = -s_true - e_spat - e_interf
            e_artif[:nsampl, :] += ests[j, win]
            out[:, j, k] = metrics._bss_crit(s_true, e_spat, e_interf, e_artif, False)
    return out


def _zeropad(sig: np.ndarray, n: int, axis: int) -> np.ndarray:
    from museval import metrics  # imported by bss_eval_v4 before any worker starts

    return metrics._zeropad(sig, n, axis=axis)


def _solve(G: np.ndarray, D: np.ndarray, nrhs: int) -> np.ndarray:
    """museval's ``solve(G + eps*I, D)``, falling back on one ``lstsq`` per estimate as it does."""
    eps = np.finfo(float).eps
    A = G + eps * np.eye(G.shape[0])
    blocks = range(0, D.shape[1], nrhs)
    try:
        if nrhs >= 2:
            return np.linalg.solve(A, D)
        # one right-hand side takes LAPACK's vector path, which rounds differently from
        # the matrix path a stacked solve would take: solve mono estimates one by one
        return np.concatenate([np.linalg.solve(A, D[:, k : k + nrhs]) for k in blocks], axis=1)
    except np.linalg.LinAlgError:
        return np.concatenate([np.linalg.lstsq(G, D[:, k : k + nrhs])[0] for k in blocks], axis=1)


def bss_eval_v4(
    references: Sequence[np.ndarray] | np.ndarray,
    estimates: Sequence[np.ndarray] | np.ndarray,
    win: int,
    hop: int,
    workers: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``museval.evaluate(references, estimates, win, hop, mode="v4")``: (SDR, ISR, SIR, SAR),
    each (nsrc, nwin), the same numbers computed faster (see the module docstring).

    ``workers`` > 1 forks that many processes (one BLAS thread each) for the FFTs and frames.
    """

    museval = import_museval()
    metrics = museval.metrics
    references, estimates = museval.pad_or_truncate(np.array(references), np.array(estimates))
    estimates, references = np.atleast_3d(estimates), np.atleast_3d(references)
    metrics.validate(references, estimates)
    nsrc, nsampl, nchan = estimates.shape
    L = FILTERS_LEN

    n_fft = int(2 ** np.ceil(np.log2(nsampl + L - 1.0)))
    _SHARED.clear()
    _SHARED.update(references=references, estimates=estimates, framing=(win, hop))
    try:
        # museval's fft(zero-padded references, n_fft, axis=2), one channel at a time into
        # one array (each row of a multi-row FFT is that row's 1-D FFT: the same numbers), so
        # neither the padded copy of all references nor the FFT's whole-input buffers exist at
        # once. The array is shared memory: this process takes the first channel (making the
        # real FFT's plan once, here, for every later worker), the workers the others.
        buffer = mmap.mmap(-1, nsrc * nchan * n_fft * np.dtype(complex).itemsize)
        _SHARED["sf"] = np.frombuffer(buffer, dtype=complex).reshape(nsrc, nchan, n_fft)
        channels = list(itertools.product(range(nsrc), range(nchan)))
        _reference_spectrum(channels[0])
        _map(_reference_spectrum, channels[1:], workers)
        pairs = list(itertools.combinations_with_replacement(itertools.product(range(nsrc), range(nchan)), 2))
        # the FFT work: the estimates' cross-correlations (large jobs first), all correlation pairs
        jobs = [("D", jest) for jest in range(nsrc)] + [("G", (i, c1, j, c2)) for (i, c1), (j, c2) in pairs]
        # this process takes the first correlation itself: the inverse FFT's plan (its twiddle
        # factors, about n_fft complex values) is then made once, here, and shared with the
        # forked workers, instead of once in each of them
        first = _run_job(jobs[nsrc])
        results = _map(_run_job, jobs[:nsrc] + jobs[nsrc + 1 :], workers)
        del _SHARED["sf"]
        buffer.close()  # the spectra's memory goes back now, not at the function's end
        D, results = results[:nsrc], [first, *results[nsrc:]]

        G = np.zeros((nsrc, nsrc, nchan, nchan, L, L))
        for ((i, c1), (j, c2)), (col, row) in zip(pairs, results):
            ss = toeplitz(col, r=row)
            G[j, i, c2, c1] = ss
            G[i, j, c1, c2] = ss.T

        # all estimates against all references: one LU for every estimate
        rhs = np.concatenate([d.reshape(nsrc * nchan * L, nchan) for d in D], axis=1)
        C = _solve(metrics._reshape_G(G), rhs, nchan)
        C = np.stack([C[:, k * nchan : (k + 1) * nchan].reshape(nsrc, nchan, L, nchan) for k in range(nsrc)])
        # each estimate against its own reference: museval's nsrc == 1 case
        Cj = np.stack([
            _solve(metrics._reshape_G(G[j, j][None, None]), D[j][j].reshape(nchan * L, nchan), nchan).reshape(nchan, L, nchan)
            for j in range(nsrc)
        ])
        del G, rhs
        _SHARED.update(C=C, Cj=Cj)
        nwin = metrics.Framing(win, hop, nsampl).nwin
        bounds = np.linspace(0, nwin, max(1, min(workers, nwin)) + 1).astype(int)
        chunks = [(int(a), int(b)) for a, b in zip(bounds, bounds[1:])]
        scores = np.concatenate(_map(_frames, chunks, workers), axis=2)  # (4, nsrc, nwin)
    finally:
        _SHARED.clear()
    return scores[0], scores[1], scores[2], scores[3]


def _run_job(job: tuple[str, object]):
    kind, arg = job
    return _correlation(arg) if kind == "G" else _cross_correlation(arg)
