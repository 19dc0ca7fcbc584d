import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

import pandas as pd

from umxmr.atomic import atomic_path, write_text
from umxmr.evaluation.compare import paired_comparison
from umxmr.provenance import TABLE_COLUMNS
from umxmr.report.summary_table import summary_sections, to_html, to_markdown

scores = pd.read_csv(snakemake.input.scores)
comparison = paired_comparison(scores, snakemake.params.baseline)
with atomic_path(Path(snakemake.output.comparison)) as tmp:
    comparison.to_csv(tmp, index=False)
sections = summary_sections(
    pd.read_csv(snakemake.input.summary, dtype=dict.fromkeys(TABLE_COLUMNS, str)),  # hashes stay text
    comparison,
    snakemake.params.variants,
    snakemake.params.oracle,
    snakemake.params.dataset,
    targets_meaning=snakemake.params.targets_meaning,
)
write_text(Path(snakemake.output.markdown), to_markdown(sections))
write_text(Path(snakemake.output.html), to_html(sections))
