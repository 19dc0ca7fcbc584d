"""museval, imported lazily with plain words when ffmpeg is missing, and usable on numpy >= 2.

musdb and museval import stempeg, which raises at import time when ffmpeg/ffprobe are not
on PATH; :func:`import_museval` turns that into an actionable message. Both the BSSEval
arithmetic (``bsseval``) and the per-track evaluation (``evaluate``) import museval through
here, so neither imports the other for it.
"""

from __future__ import annotations

import types

import numpy as np

__all__ = ["FFMPEG_MESSAGE", "import_museval", "install_numpy_linalg_shim"]

FFMPEG_MESSAGE = "museval needs ffmpeg and ffprobe on PATH (Debian: apt-get install ffmpeg)"


def install_numpy_linalg_shim() -> None:
    """Let museval's least-squares fallback work on numpy >= 2.

    ``museval.metrics._compute_projection_filters`` solves for the distortion
    filters with ``np.linalg.solve`` and, when the Gram matrix of the references
    is exactly singular, falls back on ``np.linalg.lstsq`` inside
    ``except np.linalg.linalg.LinAlgError``. The private module
    ``numpy.linalg.linalg`` is gone in recent numpy (2.4 has no such attribute),
    so evaluating that ``except`` clause raises ``AttributeError`` and the
    fallback never runs. We cannot edit site-packages, so we give ``np.linalg`` a
    small module-like object exposing the one name museval looks up. It is only
    added when missing and only carries ``LinAlgError`` (the very same class as
    ``np.linalg.LinAlgError``), so it cannot change behaviour of other code.
    """
    if not hasattr(np.linalg, "linalg"):
        shim = types.ModuleType(
            "numpy.linalg.linalg",
            "umxmr compatibility shim: numpy>=2 removed numpy.linalg.linalg, "
            "museval still catches np.linalg.linalg.LinAlgError.",
        )
        shim.LinAlgError = np.linalg.LinAlgError
        np.linalg.linalg = shim


install_numpy_linalg_shim()


def import_museval():
    """Import museval lazily, with a clear error when ffmpeg/ffprobe are missing."""
    install_numpy_linalg_shim()
    try:
        import museval
    except RuntimeError as exc:
        text = str(exc).lower()
        if "ffmpeg" in text or "ffprobe" in text:
            raise RuntimeError(FFMPEG_MESSAGE) from exc
        raise
    return museval
