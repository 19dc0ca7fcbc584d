import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import json
from pathlib import Path

import pandas as pd

from umxmr.atomic import write_text
from umxmr.report.oracle_table import oracle_comparison_markdown
from umxmr.report.plots import oracle_sdr_plot
from umxmr.report.published import NOTES_ORACLE

searches = {Path(p).stem.removeprefix("search_"): pd.read_csv(p) for p in snakemake.input.searches}
best = json.loads(Path(snakemake.input.best).read_text())
oracle_sdr_plot(searches, best, Path(snakemake.output.plot), notes=NOTES_ORACLE)
write_text(Path(snakemake.output.table), oracle_comparison_markdown(best, snakemake.params.dataset))
