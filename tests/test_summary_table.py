import html

import pandas as pd

from umxmr.evaluation.aggregate import summarize
from umxmr.evaluation.compare import paired_comparison
from umxmr.report.published import MUSDB_VERSIONS, PUBLISHED_ROWS
from umxmr.report.summary_table import summary_sections, to_html, to_markdown

ORACLE = "oracle (phase-mix 4096)"


def scores():
    rows = []
    for k in range(3):
        for variant, base in (("umx-mr-0", 4.0), ("mr", 5.0), (ORACLE, 9.0)):
            for target in ("vocals", "drums", "bass", "other"):
                for metric in ("SDR", "SIR"):
                    rows.append((variant, target, f"t{k}", metric, base + k))
    return pd.DataFrame(rows, columns=["variant", "target", "track", "metric", "score"])


def test_summary_rows_published_and_comparison():
    df = scores()
    sections = summary_sections(summarize(df), paired_comparison(df, "umx-mr-0"), ["umx-mr-0", "mr"], ORACLE, "demo")
    text = to_markdown(sections)
    lines = text.splitlines()
    header = next(l for l in lines if l.startswith("| variant | vocals"))
    assert header == "| variant | vocals | drums | bass | other | tracks | source |"
    n_published = len(PUBLISHED_ROWS)
    body = lines[lines.index(header) + 2 : lines.index(header) + 5 + n_published]
    assert body[0] == f"| {ORACLE} | 10.00 | 10.00 | 10.00 | 10.00 | 3 | this run |"
    assert body[1] == "| umx-mr-0 | 5.00 | 5.00 | 5.00 | 5.00 | 3 | this run |"
    assert all(row.startswith("| ") and row.split(" | ")[-1].startswith("published, not re-run here") for row in body[3:])
    assert "not comparable with results on the generated demo data" in text and "not a bound" in text
    row = next(l for l in lines if l.startswith("| mr | umx-mr-0 | vocals"))
    assert row == "| mr | umx-mr-0 | vocals | 3 | 1.00 | NaN | 3 tracks: too few for a signed-rank test (needs 6) |"
    page = to_html(sections)
    assert page.count("<tr>") == 1 + 3 + n_published + 1 + 8  # header and rows; mr and the oracle vs umx-mr-0
    assert "&lt;" not in text


def published_row_cells(text: str) -> dict[str, str]:
    """Published rows of a summary.md: name -> source cell."""
    rows = [line.split(" | ") for line in text.splitlines() if "| published, not re-run here" in line]
    return {cells[0].lstrip("| "): cells[-1].rstrip(" |") for cells in rows}


def assert_every_published_row_is_sourced(markdown: str, page: str) -> None:
    """Each published row names a source and the MUSDB version it was evaluated on, in summary.md
    and in the report's HTML table; rows on MUSDB18 are labelled compressed."""
    cells = published_row_cells(markdown)
    assert set(cells) == {row.name for row in PUBLISHED_ROWS}
    for row in PUBLISHED_ROWS:
        assert row.source.strip() and row.evaluated_on in MUSDB_VERSIONS
        cell = cells[row.name]
        assert row.source in cell and f"evaluated on {row.evaluated_on_label}" in cell
        assert ("compressed" in cell) == (row.evaluated_on == "MUSDB18")
        assert html.escape(row.name) in page and html.escape(row.source) in page and html.escape(row.evaluated_on_label) in page
        for target, value in row.sdr.items():
            assert f"{value:.2f}" in markdown


def test_every_published_row_has_source_and_musdb_version():
    df = scores()
    sections = summary_sections(summarize(df), paired_comparison(df, "umx-mr-0"), ["umx-mr-0", "mr"], ORACLE, "demo")
    assert_every_published_row_is_sourced(to_markdown(sections), to_html(sections))
    # both MUSDB versions appear: the table does not mix them silently
    assert {row.evaluated_on for row in PUBLISHED_ROWS} == set(MUSDB_VERSIONS)


def test_single_variant_has_nothing_to_compare():
    df = scores()
    df = df[df.variant != "mr"]
    comparison = paired_comparison(df[df.variant != ORACLE], "umx-mr-0")
    text = to_markdown(summary_sections(summarize(df), comparison, ["umx-mr-0"], ORACLE, "demo"))
    assert "Only one variant was evaluated" in text


def test_provenance_section_has_one_row_per_variant_in_table_order():
    from umxmr.provenance import TABLE_COLUMNS

    df = scores()
    summary = summarize(df)
    for column in TABLE_COLUMNS:
        summary[column] = summary["variant"].astype(str) + f":{column}"
    sections = summary_sections(summary, paired_comparison(df, "umx-mr-0"), ["umx-mr-0", "mr"], ORACLE, "demo")
    text = to_markdown(sections)
    assert "## Provenance" in text
    lines = text.splitlines()
    header = lines.index("| variant | " + " | ".join(TABLE_COLUMNS) + " |")
    rows = lines[header + 2 : header + 5]
    assert [r.split(" | ")[0] for r in rows] == [f"| {ORACLE}", "| umx-mr-0", "| mr"]
    assert rows[1] == "| umx-mr-0 | " + " | ".join(f"umx-mr-0:{c}" for c in TABLE_COLUMNS) + " |"


def test_a_two_target_study_says_what_its_scores_mean():
    from umxmr.target_sets import target_set

    df = scores()
    df = df[df.target.isin(["vocals", "bass"])]
    meaning = target_set(["vocals", "bass"]).meaning()
    text = to_markdown(summary_sections(summarize(df), paired_comparison(df, "umx-mr-0"), ["umx-mr-0", "mr"], ORACLE, "demo",
                                        targets_meaning=meaning))
    intro = next(l for l in text.splitlines() if l.startswith("Median over tracks"))
    assert intro.endswith(meaning) and "drums, other are not a reference" in intro
    assert next(l for l in text.splitlines() if l.startswith("| variant | vocals")).startswith("| variant | vocals | bass | tracks")


def test_sdr_only_study_with_usdr_column_and_section():
    df = scores()
    df = df[df.metric == "SDR"]
    usdr = df.assign(metric="uSDR", score=df["score"] + df["target"].map({"vocals": 0.0, "drums": 1.0, "bass": 2.0, "other": 3.0}))
    both = pd.concat([df, usdr], ignore_index=True)
    text = to_markdown(summary_sections(summarize(both), paired_comparison(both, "umx-mr-0"), ["umx-mr-0", "mr"], ORACLE, "demo"))
    lines = text.splitlines()
    assert "Metrics computed: SDR (evaluation.metrics: [SDR]; SIR, SAR and ISR not computed), and uSDR (global SDR)." in text
    assert "| variant | vocals | drums | bass | other | uSDR, mean of targets | tracks | source |" in lines
    # umx-mr-0: tracks 4, 5, 6 -> SDR median 5; uSDR mean over tracks 5 + offset, mean of targets 5 + 1.5
    assert "| umx-mr-0 | 5.00 | 5.00 | 5.00 | 5.00 | 6.50 | 3 | this run |" in lines
    # a published row has no uSDR: "–" in that column
    published = [line for line in lines if line.startswith("| X-UMX")]
    assert published and all("| – | 50 | published, not re-run here" in line for line in published)
    assert "## uSDR per target (global SDR, not museval's)" in text
    assert "| umx-mr-0 | 5.00 | 6.00 | 7.00 | 8.00 | 6.50 | 3 |" in lines
    assert "NOT museval's median of medians" in text
