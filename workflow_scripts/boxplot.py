import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

import pandas as pd

from umxmr.plots import sdr_boxplot

sdr_boxplot(pd.read_csv(snakemake.input[0]), Path(snakemake.output[0]))
