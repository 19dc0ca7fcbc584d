import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

from umxmr.report.plots import load_model_summaries, seed_spread

# inputs are results/{variant}/{target}.json
seed_spread(load_model_summaries(snakemake.input), Path(snakemake.output[0]))
