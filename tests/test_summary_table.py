import pandas as pd

from umxmr.evaluation.aggregate import summarize
from umxmr.evaluation.compare import paired_comparison
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
    body = lines[lines.index(header) + 2 : lines.index(header) + 7]
    assert body[0] == f"| {ORACLE} (upper reference) | 10.00 | 10.00 | 10.00 | 10.00 | 3 | this run |"
    assert body[1] == "| umx-mr-0 | 5.00 | 5.00 | 5.00 | 5.00 | 3 | this run |"
    assert body[3] == "| UMX v1.0.0 (umxhq) | 6.16 | 5.78 | 5.03 | 4.22 | 50 | published, not re-run here |"
    assert body[4] == "| X-UMX | 6.79 | 6.46 | 5.35 | 4.55 | 50 | published, not re-run here |"
    assert "not comparable with results on the generated demo data" in text
    row = next(l for l in lines if l.startswith("| mr | umx-mr-0 | vocals"))
    assert row == "| mr | umx-mr-0 | vocals | 3 | 1.00 | NaN | 3 tracks: too few for a signed-rank test (needs 6) |"
    page = to_html(sections)
    assert page.count("<tr>") == 1 + 5 + 1 + 8  # header and rows; mr and the oracle vs umx-mr-0
    assert "<td>published, not re-run here</td>" in page and "&lt;" not in text


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
    assert "| X-UMX | 6.79 | 6.46 | 5.35 | 4.55 | – | 50 | published, not re-run here |" in lines
    assert "## uSDR per target (global SDR, not museval's)" in text
    assert "| umx-mr-0 | 5.00 | 6.00 | 7.00 | 8.00 | 6.50 | 3 |" in lines
    assert "NOT museval's median of medians" in text
