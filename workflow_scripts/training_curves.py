import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

from umxmr.report.plots import load_model_summaries, training_curves

# inputs are results/{variant}/{target}.json
training_curves(load_model_summaries(snakemake.input), Path(snakemake.output[0]))
