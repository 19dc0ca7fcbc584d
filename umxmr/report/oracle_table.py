"""`results/oracle/notes_comparison.md`: this run's phase-mix oracle search beside the research
notes' figures (:data:`umxmr.report.published.NOTES_ORACLE`), each row labelled with its data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from umxmr.report.published import NOTES_ORACLE, NOTES_ORACLE_SOURCE

__all__ = ["oracle_comparison_rows", "oracle_comparison_markdown"]

COLUMNS = ("vocals", "drums", "bass", "other", "total")


def _cell(entry: tuple[int, float] | None) -> str:
    return "–" if entry is None else f"{entry[1]:.3f} @ {entry[0]}"


def oracle_comparison_rows(best: Mapping[str, Any], dataset: str) -> list[tuple[str, str, dict[str, tuple[int, float]]]]:
    """(row, data, {column: (window, SDR dB)}) for this run's search (``best``: best.json's
    contents) then the notes' figures; ``dataset`` names this run's data."""
    ours = f"this run: {dataset}, validation tracks"
    single = best["single"]
    rows = [
        (f"single STFT, best ({single['search']})", ours,
         {**{t: (single["window"], v) for t, v in single["sdr"].items()}, "total": (single["window"], single["total"])}),
        ("per target, best", ours,
         {t: (e["window"], e["sdr"]) for t, e in best["per_target"].items()}),
    ]
    for kind, label in (("single", "single STFT, control"), ("per_target", "per target, control")):
        control = best["controls"][kind]
        rows.append((f"{label} {control['window']}", ours,
                     {**{t: (control["window"], v) for t, v in control["sdr"].items()}, "total": (control["window"], control["total"])}))
    rows += [(f"{name} (notes)", "notes: MUSDB18-HQ, 14 validation tracks", dict(values)) for name, values in NOTES_ORACLE.items()]
    return rows


def oracle_comparison_markdown(best: Mapping[str, Any], dataset: str, columns: Sequence[str] = COLUMNS) -> str:
    """The table as markdown: cells are "SDR @ window" (global SDR in dB, window in samples, hop window//4)."""
    lines = [
        "# Phase-mix oracle search: this run beside the research notes",
        "",
        "Global SDR in dB, mean over the validation tracks, at the STFT window in samples (hop = window // 4); "
        "cells are \"SDR @ window\". Rows marked (notes) are the notes' own numbers, from "
        f"{NOTES_ORACLE_SOURCE}; they are not re-run here and compare only with a search on MUSDB18-HQ's "
        "validation tracks. '–': not given.",
        "",
        "| result | data | " + " | ".join(columns) + " |",
        "|" + "|".join("---" for _ in range(len(columns) + 2)) + "|",
    ]
    for name, data, values in oracle_comparison_rows(best, dataset):
        lines.append(f"| {name} | {data} | " + " | ".join(_cell(values.get(c)) for c in columns) + " |")
    return "\n".join(lines) + "\n"
