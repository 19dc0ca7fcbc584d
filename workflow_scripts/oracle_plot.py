import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

import json
from pathlib import Path

import pandas as pd

from umxmr.report.plots import oracle_sdr_plot

searches = {Path(p).stem.removeprefix("search_"): pd.read_csv(p) for p in snakemake.input.searches}
oracle_sdr_plot(searches, json.loads(Path(snakemake.input.best).read_text()), Path(snakemake.output[0]))
