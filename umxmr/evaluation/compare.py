"""Paired comparison of variants on the same tracks, which museval's tools do not offer.

Per target, each variant against the baseline (the first evaluated variant, umx-mr-0):
the median over tracks of the per-track SDR difference and the two-sided Wilcoxon
signed-rank p-value (scipy). A p-value that cannot mean anything is NaN with the reason.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from umxmr.targets import target_order

__all__ = ["paired_comparison", "MIN_PAIRS"]

# with fewer pairs the exact two-sided signed-rank test cannot reach p < 0.05 (n = 5: 0.0625)
MIN_PAIRS = 6
COLUMNS = [
    "variant", "baseline", "target", "metric", "n_tracks",
    "median_baseline", "median_variant", "median_delta", "wilcoxon_p", "note",
]


def _wilcoxon(delta: np.ndarray) -> tuple[float, str]:
    from scipy.stats import wilcoxon

    n = len(delta)
    if n == 0:
        return float("nan"), "no track scored by both"
    if np.all(delta == 0):
        return float("nan"), "all differences are zero"
    if n < MIN_PAIRS:
        return float("nan"), f"{n} track{'s' if n != 1 else ''}: too few for a signed-rank test (needs {MIN_PAIRS})"
    return float(wilcoxon(delta, alternative="two-sided").pvalue), ""


def paired_comparison(scores: pd.DataFrame, baseline: str, metric: str = "SDR") -> pd.DataFrame:
    """One row per (variant != baseline, target): columns :data:`COLUMNS`.

    ``scores`` is the long frame of :func:`umxmr.evaluation.aggregate.load_track_scores`. Only tracks
    with a finite score for both the variant and the baseline are paired.
    """
    data = scores[scores["metric"] == metric].copy()
    data["variant"] = data["variant"].astype(str)
    if baseline not in set(data["variant"]):
        raise ValueError(f"baseline variant {baseline!r} has no {metric} scores; evaluated: {sorted(set(data['variant']))}")
    wide = data.pivot_table(index=["target", "track"], columns="variant", values="score", aggfunc="first")
    order = list(pd.unique(scores["variant"].astype(str)))
    rows = []
    for variant in [v for v in order if v != baseline]:
        for target in target_order(data["target"]):
            pair = wide.loc[target, [baseline, variant]].astype(float)
            pair = pair[np.isfinite(pair).all(axis=1)]
            delta = (pair[variant] - pair[baseline]).to_numpy()
            p, note = _wilcoxon(delta)
            rows.append({
                "variant": variant, "baseline": baseline, "target": target, "metric": metric,
                "n_tracks": len(delta),
                "median_baseline": float(np.median(pair[baseline])) if len(delta) else np.nan,
                "median_variant": float(np.median(pair[variant])) if len(delta) else np.nan,
                "median_delta": float(np.median(delta)) if len(delta) else np.nan,
                "wilcoxon_p": p, "note": note,
            })
    return pd.DataFrame(rows, columns=COLUMNS)
