"""`results/summary.md` (and its HTML twin for the report): median/median SDR per variant ×
target, published rows beside ours, and the paired comparison, as a paper would show them."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from umxmr.evaluation.aggregate import USDR
from umxmr.targets import target_order
from umxmr.provenance import TABLE_COLUMNS
from umxmr.report.published import PUBLISHED_ROWS, PublishedRow

__all__ = ["published_source", "summary_sections", "to_markdown", "to_html"]

PUBLISHED_NOTE = "published, not re-run here"


def published_source(row: PublishedRow) -> str:
    """The source cell of a published row: the MUSDB version it was evaluated on and where it is printed."""
    return f"{PUBLISHED_NOTE}; evaluated on {row.evaluated_on_label}; {row.source}"


@dataclass
class Section:
    title: str
    intro: str
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _db(value: float) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.2f}"


def _p(value: float) -> str:
    if not math.isfinite(value):
        return "NaN"
    return f"{value:.3g}" if value >= 1e-4 else "< 1e-4"


USDR_HEADER = "uSDR, mean of targets"


def _metrics_line(summary: pd.DataFrame) -> str:
    held = [m for m in ("SDR", "SIR", "SAR", "ISR") if m in set(summary["metric"])]
    line = f"Metrics computed: {', '.join(held) or 'none'}"
    if held == ["SDR"]:
        line += " (evaluation.metrics: [SDR]; SIR, SAR and ISR not computed)"
    return line + (f", and {USDR} (global SDR)." if USDR in set(summary["metric"]) else ".")


def summary_sections(
    summary: pd.DataFrame, comparison: pd.DataFrame, variants: Sequence[str], oracle: str, dataset: str, metric: str = "SDR",
    targets_meaning: str = "",
) -> list[Section]:
    """The tables. ``summary`` is :func:`umxmr.evaluation.aggregate.summarize`'s frame, ``comparison``
    :func:`umxmr.evaluation.compare.paired_comparison`'s; rows: ``oracle`` (the oracle's label) first,
    then ``variants`` in that order, then the published rows. ``targets_meaning`` (from
    :meth:`umxmr.target_sets.TargetSet.meaning`) says what the scores of the study's target set mean.
    Where ``summary`` has uSDR rows (global SDR, mean over tracks), the first table gets a column
    with their mean over targets and a table of its own per target."""
    sdr = summary[summary["metric"] == metric].copy()
    sdr["variant"] = sdr["variant"].astype(str)
    usdr = summary[summary["metric"] == USDR].assign(variant=lambda d: d["variant"].astype(str))
    has_usdr = not usdr.empty
    targets = target_order(sdr["target"])
    present = set(sdr["variant"])
    ordered = [oracle] * (oracle in present) + [v for v in variants if v in present and v != oracle]
    scores = Section(
        f"{metric} per target (BSSEval v4, museval)",
        f"Median over tracks of the median over 1 s frames, in dB; dataset: {dataset}. {_metrics_line(summary)}"
        + (f" {targets_meaning}" if targets_meaning else ""),
        ["variant", *targets, *([USDR_HEADER] if has_usdr else []), "tracks", "source"],
    )
    for variant in ordered:
        part = sdr[sdr["variant"] == variant].set_index("target")
        n = sorted(set(part["n_tracks"].astype(int)))
        extra = [_db(usdr.loc[usdr["variant"] == variant, "score"].mean())] if has_usdr else []
        scores.rows.append([variant, *(_db(part["score"].get(t, float("nan"))) for t in targets), *extra,
                            " / ".join(map(str, n)), "this run"])
    for row in PUBLISHED_ROWS:
        extra = ["–"] if has_usdr else []
        scores.rows.append([row.name, *(_db(row.sdr.get(t, float("nan"))) for t in targets), *extra, "50", published_source(row)])
    scores.notes = [
        f"The published rows ({PUBLISHED_NOTE}) are MUSDB test-set numbers, each on the MUSDB version "
        "its source cell names (MUSDB18 is the AAC-compressed release, MUSDB18-HQ the uncompressed "
        "one); they are not comparable with results on the generated demo data, only with a run on "
        "that MUSDB version's test set.",
        "The oracle row is the phase-mix oracle (each source's |STFT 4096| with the mixture's "
        "phase), evaluated by the same museval rules as the variants; it is not a bound: "
        "Wiener/EM-refined estimates can score above it.",
    ]
    if has_usdr:
        scores.notes.append(
            f"{USDR_HEADER}: NOT museval's median of medians but the global SDR (uSDR) of the Music "
            "Demixing Challenge 2021 and Music-Source-Separation-Training: one SNR over each whole "
            "track, 10·log10((Σs² + 1e-7) / (Σ(s − ŝ)² + 1e-7)), mean over tracks, then over targets."
        )
    paired = Section(f"Paired comparison ({metric}, same tracks)", "")
    if comparison.empty:
        paired.intro = "Only one variant was evaluated: nothing to compare."
    else:
        paired.header = ["variant", "vs", "target", "tracks", f"median Δ{metric} [dB]", "Wilcoxon p", "note"]
        paired.rows = [
            [r.variant, r.baseline, r.target, str(int(r.n_tracks)), _db(r.median_delta), _p(r.wilcoxon_p),
             r.note if isinstance(r.note, str) else ""]
            for r in comparison.itertuples()
        ]
        paired.notes = ["Δ = variant − baseline per track; two-sided Wilcoxon signed-rank test (scipy)."]
    sections = [scores, paired]
    if has_usdr:
        sections.append(_usdr_section(usdr, ordered, targets))
    return [*sections, _provenance_section(summary, ordered)]


def _usdr_section(usdr: pd.DataFrame, ordered: Sequence[str], targets: Sequence[str]) -> Section:
    section = Section(
        f"{USDR} per target (global SDR, not museval's)",
        "One SNR over each whole track, mean over tracks, in dB (MDX 2021 / Music-Source-Separation-"
        "Training 'sdr'); the estimates and tracks of the first table.",
        ["variant", *targets, "mean of targets", "tracks"],
    )
    for variant in ordered:
        part = usdr[usdr["variant"] == variant].set_index("target")
        n = sorted(set(part["n_tracks"].astype(int)))
        section.rows.append([variant, *(_db(part["score"].get(t, float("nan"))) for t in targets),
                             _db(part["score"].mean()), " / ".join(map(str, n))])
    return section


def _provenance_section(summary: pd.DataFrame, ordered: Sequence[str]) -> Section:
    """What produced each row: from the provenance columns of ``summary`` (one value per variant)."""
    section = Section("Provenance", "What produced each variant's estimates, from the score JSONs.")
    if not set(TABLE_COLUMNS) <= set(summary.columns):
        section.intro = "The summary has no provenance columns (score JSONs written before they were recorded)."
        return section
    per_variant = summary.assign(variant=summary["variant"].astype(str)).drop_duplicates("variant").set_index("variant")
    section.header = ["variant", *TABLE_COLUMNS]
    section.rows = [[variant, *(str(per_variant.loc[variant, c]) for c in TABLE_COLUMNS)] for variant in ordered]
    section.notes = [
        "seed: the selected seed of each target model (one number when all targets share it); "
        "niter / residual / wiener_win_len: the Wiener/EM settings of the separation; "
        "a field that differs between a variant's tracks lists every value, separated by |."
    ]
    return section


def to_markdown(sections: Sequence[Section]) -> str:
    lines: list[str] = []
    for level, s in enumerate(sections):
        lines += [("# " if level == 0 else "## ") + s.title, ""]
        if s.intro:
            lines += [s.intro, ""]
        if s.header:
            lines += ["| " + " | ".join(s.header) + " |", "|" + "|".join("---" for _ in s.header) + "|"]
            lines += ["| " + " | ".join(row) + " |" for row in s.rows]
            lines.append("")
        lines += [*s.notes, ""] if s.notes else []
    return "\n".join(lines).rstrip("\n") + "\n"


def to_html(sections: Sequence[Section]) -> str:
    e = html.escape
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><style>",
             "body{font-family:sans-serif;margin:1em}table{border-collapse:collapse;margin:.5em 0}",
             "td,th{border:1px solid #bbb;padding:.2em .6em;text-align:right;white-space:nowrap}",
             "td:first-child,th:first-child,td:last-child,th:last-child{text-align:left}</style></head><body>"]
    for s in sections:
        parts.append(f"<h2>{e(s.title)}</h2>")
        if s.intro:
            parts.append(f"<p>{e(s.intro)}</p>")
        if s.header:
            parts.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in s.header) + "</tr>")
            parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in s.rows]
            parts.append("</table>")
        parts += [f"<p>{e(n)}</p>" for n in s.notes]
    return "\n".join(parts + ["</body></html>"]) + "\n"
