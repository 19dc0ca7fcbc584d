import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

import pandas as pd

from umxmr.report.plots import sdr_boxplot

scores = pd.read_csv(snakemake.input[0])
for path in snakemake.output:
    sdr_boxplot(scores, Path(path), metric=snakemake.params.metric)
