"""The notes' oracle figures beside this run's search (table and plot), labelled with their data."""

from __future__ import annotations

from umxmr.report.oracle_table import oracle_comparison_markdown
from umxmr.report.plots import oracle_sdr_plot
from umxmr.report.published import NOTES_ORACLE

import pandas as pd

TARGETS = ["vocals", "drums", "bass", "other"]


def best_json() -> dict:
    sdr = {"vocals": 5.0, "drums": 4.0, "bass": 3.0, "other": 2.0}
    return {
        "single": {"window": 2304, "hop": 576, "total": 3.5, "sdr": sdr, "search": "42"},
        "per_target": {t: {"window": 1024 + 512 * k, "hop": 256, "sdr": 6.0 + k, "search": "42"} for k, t in enumerate(TARGETS)},
        "controls": {
            "single": {"window": 2048, "total": 3.25, "sdr": sdr},
            "per_target": {"window": 1024, "total": 3.0, "sdr": sdr},
        },
    }


def test_notes_oracle_figures_stand_beside_this_runs_search():
    text = oracle_comparison_markdown(best_json(), "demo")
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| result")]
    ours = [r for r in rows if "this run: demo" in r]
    notes = [r for r in rows if "| notes: MUSDB18-HQ, 14 validation tracks |" in r]
    assert len(ours) == 4 and len(notes) == len(NOTES_ORACLE) and len(rows) == len(ours) + len(notes)
    assert all("(notes)" in r for r in notes)
    # the notes' totals (umx-mr-notes.md): 7.119 at 8320, 7.116 at 7808, control 8192 7.10, control 4096 6.87
    for cell in ("7.119 @ 8320", "7.116 @ 7808", "7.100 @ 8192", "6.870 @ 4096", "9.009 @ 6912", "6.327 @ 15232"):
        assert sum(cell in r for r in notes) == 1, cell
    # this run's single best, per-target best and the controls, each cell "SDR @ window"
    assert ours[0].endswith("| 5.000 @ 2304 | 4.000 @ 2304 | 3.000 @ 2304 | 2.000 @ 2304 | 3.500 @ 2304 |")
    assert ours[1].endswith("| 6.000 @ 1024 | 7.000 @ 1536 | 8.000 @ 2048 | 9.000 @ 2560 | – |")
    assert "3.250 @ 2048" in ours[2] and "3.000 @ 1024" in ours[3]


def test_oracle_plot_draws_the_notes_points(tmp_path):
    best = best_json()
    search = pd.DataFrame({"window": [1024, 2048, 2304], "hop": [256, 512, 576], "draws": [1, 1, 1],
                           **{t: [1.0, 2.0, 3.0] for t in [*TARGETS, "total"]}})
    out = tmp_path / "sdr.svg"
    oracle_sdr_plot({"42": search}, best, out, notes=NOTES_ORACLE)
    svg = out.read_text()
    assert "notes (MUSDB18-HQ, 14 valid tracks)" in svg
