"""`results/summary.md`: median/median SDR per variant × target, published rows beside ours,
and the paired comparison, as a researcher would put them in a paper."""

from __future__ import annotations

import math
from collections.abc import Sequence
import pandas as pd

__all__ = ["PUBLISHED_SDR", "summary_markdown"]

# median over tracks of the median over frames, SDR in dB, MUSDB18-HQ test set (50 tracks)
PUBLISHED_SDR = {
    "UMX v1.0.0 (umxhq)": {"vocals": 6.16, "drums": 5.78, "bass": 5.03, "other": 4.22},
    "X-UMX": {"vocals": 6.79, "drums": 6.46, "bass": 5.35, "other": 4.55},
}
PUBLISHED_NOTE = "published, not re-run here"


def _db(value: float) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.2f}"


def _p(value: float) -> str:
    if not math.isfinite(value):
        return "NaN"
    return f"{value:.3g}" if value >= 1e-4 else "< 1e-4"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def summary_markdown(
    summary: pd.DataFrame, comparison: pd.DataFrame, variants: Sequence[str], oracle: str, dataset: str, metric: str = "SDR"
) -> str:
    """The report text. ``summary`` is :func:`umxmr.aggregate.summarize`'s frame, ``comparison``
    :func:`umxmr.compare.paired_comparison`'s; rows: ``oracle`` (the oracle's label) first,
    then ``variants`` in that order."""
    sdr = summary[summary["metric"] == metric].copy()
    sdr["variant"] = sdr["variant"].astype(str)
    targets = [t for t in ("vocals", "drums", "bass", "other") if t in set(sdr["target"])]
    targets += sorted(set(sdr["target"]) - set(targets))
    present = set(sdr["variant"])
    variants = [oracle] * (oracle in present) + [v for v in variants if v in present and v != oracle]
    rows = []
    for variant in variants:
        part = sdr[sdr["variant"] == variant].set_index("target")
        label = f"{variant} (upper reference)" if variant == oracle else variant
        n = sorted(set(part["n_tracks"].astype(int)))
        rows.append([label, *(_db(part["score"].get(t, float("nan"))) for t in targets),
                     " / ".join(map(str, n)), "this run"])
    for name, values in PUBLISHED_SDR.items():
        rows.append([name, *(_db(values.get(t, float("nan"))) for t in targets), "50", PUBLISHED_NOTE])
    lines = [
        f"# {metric} per target (BSSEval v4, museval)",
        "",
        f"Median over tracks of the median over 1 s frames, in dB; dataset: **{dataset}**.",
        "",
        *_table(["variant", *targets, "tracks", "source"], rows),
        "",
        f"The published rows are MUSDB18-HQ test-set numbers ({PUBLISHED_NOTE}); they are not "
        "comparable with results on the generated demo data, only with a run on MUSDB18-HQ.",
        f"The oracle row is the phase-mix oracle (each source's |STFT 4096| with the mixture's "
        "phase), evaluated by the same museval rules as the variants.",
        "",
        f"## Paired comparison ({metric}, same tracks)",
        "",
    ]
    if comparison.empty:
        lines.append("Only one variant was evaluated: nothing to compare.")
    else:
        rows = [
            [r.variant, r.baseline, r.target, str(int(r.n_tracks)), _db(r.median_delta), _p(r.wilcoxon_p), r.note or ""]
            for r in comparison.itertuples()
        ]
        lines += _table(["variant", "vs", "target", "tracks", f"median Δ{metric} [dB]", "Wilcoxon p", "note"], rows)
        lines += ["", "Δ = variant − baseline per track; two-sided Wilcoxon signed-rank test (scipy)."]
    return "\n".join(lines) + "\n"
